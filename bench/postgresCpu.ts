import { readdirSync, readFileSync } from "node:fs";
import pg from "pg";
import type { Database } from "../src/config.js";

/** Linux's USER_HZ: /proc counts CPU time in hundredths of a second on every common kernel. */
const TICKS_PER_SECOND = 100;

/**
 * CPU seconds the PostgreSQL backends serving `database` spend over a phase, read from
 * /proc: with two cores shared by the server, the load generator and PostgreSQL, it tells who
 * the bottleneck is. Null on PGlite (its work is the server process's) and when PostgreSQL is
 * not on this machine.
 * Backends that start during the phase count from their start; WAL writer and checkpointer are
 * not counted.
 */
export async function measurePostgresCpu<T>({
  database,
  work,
}: {
  database: Database;
  work: () => Promise<T>;
}): Promise<{ result: T; cpuSeconds: number | null }> {
  if (database.engine !== "postgres") return { result: await work(), cpuSeconds: null };
  const before = postgresTicks();
  const result = await work();
  const pids = await backendPids({ url: database.url });
  const after = postgresTicks();
  const local = pids.filter((pid) => after.has(pid));
  if (local.length === 0) return { result, cpuSeconds: null };
  const ticks = local.reduce((sum, pid) => sum + (after.get(pid) ?? 0) - (before.get(pid) ?? 0), 0);
  return { result, cpuSeconds: ticks / TICKS_PER_SECOND };
}

/** utime + stime of every process named postgres, by pid. */
function postgresTicks(): Map<number, number> {
  const ticks = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync("/proc").filter((entry) => /^\d+$/.test(entry));
  } catch {
    return ticks;
  }
  for (const entry of entries) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      if (!stat.slice(0, close).includes("(postgres")) continue;
      // Fields after the command: state is field 3, utime 14 and stime 15.
      const fields = stat.slice(close + 2).split(" ");
      ticks.set(Number(entry), Number(fields[11]) + Number(fields[12]));
    } catch {
      // The process ended while we looked.
    }
  }
  return ticks;
}

async function backendPids({ url }: { url: string }): Promise<number[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
    );
    return result.rows.map((row) => row.pid);
  } finally {
    await client.end();
  }
}
