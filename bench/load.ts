import http from "node:http";

/**
 * The load generators: a fixed number of tasks a few at a time (ingestion), and N keep-alive
 * connections hammering one route for a while, autocannon-style (the check). node:http with a
 * keep-alive agent rather than fetch: fetch's per-request overhead in this process would be
 * measured as the server's.
 */
export interface HttpReply {
  status: number;
  body: string;
}

export function keepAliveAgent({ connections }: { connections: number }): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
}

export function request({
  agent,
  url,
  method = "GET",
  headers = {},
  body,
}: {
  agent: http.Agent;
  url: URL;
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const sent = http.request(
      url,
      {
        agent,
        method,
        headers: body === undefined ? headers : { ...headers, "content-length": Buffer.byteLength(body) },
      },
      (reply) => {
        const chunks: Buffer[] = [];
        reply.on("data", (chunk: Buffer) => chunks.push(chunk));
        reply.on("end", () =>
          resolve({ status: reply.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
        );
        reply.on("error", reject);
      },
    );
    sent.on("error", reject);
    sent.end(body);
  });
}

/** Runs `task(0)` … `task(total - 1)`, `concurrency` at a time; answers the seconds taken. */
export async function runInFlight({
  total,
  concurrency,
  task,
}: {
  total: number;
  concurrency: number;
  task: (index: number) => Promise<void>;
}): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, total) }, async () => {
      while (next < total) await task(next++);
    }),
  );
  return (performance.now() - started) / 1000;
}

export interface SustainedResult {
  requests: number;
  seconds: number;
  /** Requests answered otherwise than `expectStatus`, or failed. */
  errors: number;
  /** What those were: an HTTP status ("429") or "network", with how many of each. */
  unexpected: Record<string, number>;
  /** Milliseconds, sorted. */
  latencies: Float64Array;
}

/**
 * `connections` loops, each with its own keep-alive socket, sending the same request back to
 * back for `seconds`; every answer's latency is kept. Given several header sets (several API
 * keys), loop i sends set i modulo their number.
 */
export async function sustainLoad({
  url,
  method,
  headers,
  body,
  connections,
  seconds,
  expectStatus = 200,
}: {
  url: URL;
  method: string;
  headers: Record<string, string> | Record<string, string>[];
  body?: string;
  connections: number;
  seconds: number;
  expectStatus?: number;
}): Promise<SustainedResult> {
  const headerSets = Array.isArray(headers) ? headers : [headers];
  const agent = keepAliveAgent({ connections });
  const payload = body === undefined ? undefined : Buffer.from(body);
  const latencies: number[] = [];
  const unexpected: Record<string, number> = {};
  let errors = 0;
  const fail = (what: string) => {
    errors += 1;
    unexpected[what] = (unexpected[what] ?? 0) + 1;
  };
  const started = performance.now();
  const deadline = started + seconds * 1000;
  try {
    await Promise.all(
      Array.from({ length: connections }, async (_, loop) => {
        const loopHeaders = headerSets[loop % headerSets.length] ?? {};
        while (performance.now() < deadline) {
          const sentAt = performance.now();
          try {
            const reply = await request({ agent, url, method, headers: loopHeaders, body: payload });
            if (reply.status !== expectStatus) fail(String(reply.status));
          } catch {
            fail("network");
          }
          latencies.push(performance.now() - sentAt);
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  const elapsed = (performance.now() - started) / 1000;
  return {
    requests: latencies.length,
    seconds: elapsed,
    errors,
    unexpected,
    latencies: Float64Array.from(latencies).sort(),
  };
}

/** The `p`-th percentile (0–100) of sorted values, nearest rank. */
export function percentile({ sorted, p }: { sorted: Float64Array; p: number }): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}
