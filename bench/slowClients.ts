import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { loadConfig } from "../src/config.js";
import { withThrowawayDatabase } from "./databases.js";
import { count, heading, mib, table, target } from "./format.js";
import type { BenchOptions, EngineName } from "./options.js";
import { type BenchServer, withBenchServer } from "./serverProcess.js";

/** A body announced at 1 MiB, the most the server takes: it waits for all of it. */
const ANNOUNCED_BYTES = 1024 * 1024;
/** Connections opened at a time, so the listen backlog does not drop them on the way in. */
const OPENING_STEP = 100;

interface Client {
  socket: net.Socket;
  openedAt: number;
  closedAt: number | null;
  /** The status line of whatever the server answered, if anything. */
  answer: string | null;
}

/**
 * (f) Slow clients: N connections each send a sign-in's headers and the first `upfrontBytes` of
 * a body announced at 1 MiB, then trickle one byte a second. The server's memory is read while
 * they hold on, and the connections still open are counted after `seconds`. Each connection the
 * server keeps holds the body buffered so far; the figures show whether a handful of slow
 * clients can hold memory and connections for as long as they like. The database plays no part,
 * so the first engine of the run serves.
 */
export async function runSlowClients({ options, engines }: { options: BenchOptions; engines: EngineName[] }) {
  const { connections, upfrontBytes, seconds } = options.slowClients;
  const { maxConnections } = loadConfig({});
  heading(
    `(f) slow clients: ${count(connections)} connections each sending ${count(upfrontBytes)} bytes of a ` +
      `1 MiB sign-in body, then one byte a second, for ${seconds} s (MAX_CONNECTIONS ${count(maxConnections)})`,
  );
  const engine = engines[0] as EngineName;
  await withThrowawayDatabase({
    engine,
    adminUrl: options.postgresAdminUrl,
    work: (database) =>
      withBenchServer({
        database,
        logLevel: options.logLevel,
        nodeFlags: options.serverFlags,
        work: (server) => measure({ server, connections, upfrontBytes, seconds, maxConnections }),
      }),
  });
}

async function measure({
  server,
  connections,
  upfrontBytes,
  seconds,
  maxConnections,
}: {
  server: BenchServer;
  connections: number;
  upfrontBytes: number;
  seconds: number;
  maxConnections: number;
}): Promise<void> {
  const idle = await server.call("memory", {});
  const started = performance.now();
  const clients: Client[] = [];
  const head =
    `POST /v1/auth/login HTTP/1.1\r\nHost: ${server.url.host}\r\ncontent-type: application/json\r\n` +
    `content-length: ${ANNOUNCED_BYTES}\r\n\r\n`;
  const upfront = Buffer.concat([Buffer.from(head), Buffer.alloc(upfrontBytes, 0x20)]);
  for (let opened = 0; opened < connections; opened += OPENING_STEP) {
    for (let i = opened; i < Math.min(connections, opened + OPENING_STEP); i++) {
      clients.push(openClient({ server, upfront }));
    }
    await sleep(50);
  }
  const trickle = setInterval(() => {
    for (const client of clients) if (client.closedAt === null) client.socket.write(" ");
  }, 1000);
  try {
    await sleep(5000);
    const holding = await server.call("memory", {});
    await sleep(Math.max(0, seconds * 1000 - (performance.now() - started)));
    const open = clients.filter((client) => client.closedAt === null).length;
    const after = await server.call("memory", {});
    // A connection refused is closed before any answer; one cut by a deadline is answered 408.
    const closed = clients.filter((client) => client.closedAt !== null);
    const refused = closed.filter((client) => !client.answer).length;
    const cutAfter = closed
      .filter((client) => client.answer)
      .map((client) => ((client.closedAt as number) - client.openedAt) / 1000);
    const answers = new Map<string, number>();
    for (const client of clients) {
      if (client.answer) answers.set(client.answer, (answers.get(client.answer) ?? 0) + 1);
    }
    const row = (label: string, sample: Awaited<typeof idle>, held: boolean) => [
      label,
      mib(sample.rss),
      mib(sample.heapUsed),
      mib(sample.buffers),
      held ? `${count(sample.connections)} connections held` : "",
    ];
    table([
      ["", "server RSS", "heap", "buffers", ""],
      row("idle, before the clients", idle, false),
      row("5 s after they connect", holding, true),
      row(`after ${seconds} s`, after, true),
    ]);
    table([
      [
        "refused at once",
        `${count(refused)} (beyond MAX_CONNECTIONS: ${count(Math.max(0, connections - maxConnections))})`,
      ],
      [
        "cut by the server",
        cutAfter.length === 0
          ? "0"
          : `${count(cutAfter.length)}, after ${Math.min(...cutAfter).toFixed(1)}–${Math.max(...cutAfter).toFixed(1)} s`,
      ],
      ["answers", [...answers].map(([line, n]) => `${count(n)} × ${line}`).join(", ") || "none"],
      [`still open after ${seconds} s`, `${count(open)} ${target({ text: "0", met: open === 0 })}`],
    ]);
  } finally {
    clearInterval(trickle);
    for (const client of clients) client.socket.destroy();
  }
}

function openClient({ server, upfront }: { server: BenchServer; upfront: Buffer }): Client {
  const socket = net.connect({ host: server.url.hostname, port: Number(server.url.port) });
  const client: Client = { socket, openedAt: performance.now(), closedAt: null, answer: null };
  socket.on("connect", () => socket.write(upfront));
  socket.on("data", (chunk) => {
    client.answer ??= chunk.toString("latin1").split("\r\n")[0] ?? "";
  });
  // A refused or cut connection may end with a reset: either way it is closed.
  socket.on("error", () => {});
  socket.on("close", () => {
    client.closedAt = performance.now();
  });
  return client;
}
