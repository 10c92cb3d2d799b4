/**
 * Every knob of the benchmark, read from the environment in one place. The defaults finish the
 * whole run in about three minutes on a 2-core machine; smaller values make quick runs.
 */
export const partNames = ["ingestion", "check", "inprocess", "mau", "ledger", "slow", "spans"] as const;
export type PartName = (typeof partNames)[number];

/** Parts run when BENCH_ONLY is not set; `spans` is a diagnostic, run on request. */
const defaultParts: PartName[] = ["ingestion", "check", "inprocess", "mau", "ledger", "slow"];

export type EngineName = "pglite" | "postgres";

export interface BenchOptions {
  parts: PartName[];
  engines: EngineName[];
  postgresAdminUrl: string;
  /** Level of the server's request log, written to /dev/null: `info` is production's default. */
  logLevel: string;
  /** When set, the server writes a CPU profile of each measured phase here. */
  profileDir: string | null;
  /** Node flags of the server process: by default those `npm start` runs with (BENCH_SERVER_FLAGS). */
  serverFlags: string[];
  ingestion: { batches: number; warmupBatches: number; inFlight: number; orgs: number };
  /** `keys`: the entitlements:read keys the connections take turns with (each key has its own rate limit). */
  check: { connections: number; seconds: number; warmupSeconds: number; keys: number };
  inProcess: { calls: number; coldRefreshes: number };
  mau: { devices: number; inFlight: number };
  ledger: { postings: number; batches: number };
  /** Connections trickling sign-in bodies, the bytes each sends at once, and how long to watch. */
  slowClients: { connections: number; upfrontBytes: number; seconds: number };
  spans: { batches: number };
}

type Env = Record<string, string | undefined>;

export function readOptions(env: Env = process.env): BenchOptions {
  const count = (name: string, fallback: number) => positiveInteger({ env, name, fallback });
  return {
    parts: listOf({ env, name: "BENCH_ONLY", allowed: partNames, fallback: defaultParts }),
    engines: listOf({
      env,
      name: "BENCH_ENGINES",
      allowed: ["pglite", "postgres"] as const,
      fallback: ["pglite", "postgres"],
    }),
    postgresAdminUrl: env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test",
    logLevel: env.BENCH_LOG_LEVEL ?? "info",
    profileDir: env.BENCH_PROFILE_DIR || null,
    serverFlags: (env.BENCH_SERVER_FLAGS ?? "--max-semi-space-size=64").split(" ").filter(Boolean),
    ingestion: {
      batches: count("BENCH_INGEST_BATCHES", 400),
      warmupBatches: count("BENCH_INGEST_WARMUP_BATCHES", 10),
      inFlight: count("BENCH_INGEST_IN_FLIGHT", 4),
      orgs: count("BENCH_INGEST_ORGS", 4),
    },
    check: {
      connections: count("BENCH_CHECK_CONNECTIONS", 10),
      seconds: count("BENCH_CHECK_SECONDS", 10),
      warmupSeconds: count("BENCH_CHECK_WARMUP_SECONDS", 1),
      // Several keys of one org: each key may make 10,000 checks a second per process
      // (src/http/rateLimits.ts), and the check must be measured, not the limiter's 429s.
      keys: count("BENCH_CHECK_KEYS", 4),
    },
    inProcess: {
      calls: count("BENCH_INPROCESS_CALLS", 5_000_000),
      coldRefreshes: count("BENCH_INPROCESS_COLD_REFRESHES", 20),
    },
    mau: { devices: count("BENCH_MAU_DEVICES", 1_000_000), inFlight: count("BENCH_MAU_IN_FLIGHT", 4) },
    ledger: { postings: count("BENCH_LEDGER_POSTINGS", 5_000), batches: count("BENCH_LEDGER_BATCHES", 200) },
    slowClients: {
      connections: count("BENCH_SLOW_CONNECTIONS", 1_500),
      upfrontBytes: count("BENCH_SLOW_UPFRONT_BYTES", 64 * 1024),
      seconds: count("BENCH_SLOW_SECONDS", 35),
    },
    spans: { batches: count("BENCH_SPANS_BATCHES", 30) },
  };
}

function positiveInteger({ env, name, fallback }: { env: Env; name: string; fallback: number }): number {
  const text = env[name]?.replaceAll("_", "");
  if (!text) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${name} must be a positive integer, not ${text}`);
  return value;
}

/** A comma-separated subset of `allowed`, kept in `allowed`'s order so parts run in a fixed order. */
function listOf<T extends string>({
  env,
  name,
  allowed,
  fallback,
}: {
  env: Env;
  name: string;
  allowed: readonly T[];
  fallback: T[];
}): T[] {
  const text = env[name]?.trim();
  if (!text) return fallback;
  const wanted = text.split(",").map((item) => item.trim());
  const unknown = wanted.filter((item) => !(allowed as readonly string[]).includes(item));
  if (unknown.length)
    throw new Error(`${name}: unknown ${unknown.join(", ")}; choose from ${allowed.join(", ")}`);
  return allowed.filter((item) => wanted.includes(item));
}
