import { randomBytes } from "node:crypto";
import pg from "pg";
import type { Database } from "../src/config.js";
import type { EngineName } from "./options.js";

/**
 * Throwaway databases, one per part and engine: in-memory PGlite (gone with the process that
 * opens it) or a uniquely named PostgreSQL database, dropped when the part ends, fails, or the
 * run is interrupted. Only the configuration is made here; whoever opens it migrates it.
 */
const pendingDrops = new Map<string, () => Promise<void>>();

export async function withThrowawayDatabase<T>({
  engine,
  adminUrl,
  work,
}: {
  engine: EngineName;
  adminUrl: string;
  work: (database: Database) => Promise<T>;
}): Promise<T> {
  if (engine === "pglite") return work({ engine: "pglite", dataDir: null });
  const name = `meterline_bench_${Date.now()}_${randomBytes(4).toString("hex")}`;
  await adminQuery({ adminUrl, text: `CREATE DATABASE ${name}` });
  const drop = () => adminQuery({ adminUrl, text: `DROP DATABASE IF EXISTS ${name} WITH (FORCE)` });
  pendingDrops.set(name, drop);
  try {
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    return await work({ engine: "postgres", url: url.toString() });
  } finally {
    pendingDrops.delete(name);
    await drop();
  }
}

/** Drops what an interrupted run left; called from the signal handler. */
export async function dropPendingDatabases(): Promise<void> {
  await Promise.allSettled([...pendingDrops.values()].map((drop) => drop()));
  pendingDrops.clear();
}

/** The server's version, or null when it does not answer (the PostgreSQL figures are then skipped). */
export async function postgresVersion({ adminUrl }: { adminUrl: string }): Promise<string | null> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    const result = await client.query<{ version: string }>("SELECT version()");
    return result.rows[0]?.version ?? null;
  } catch {
    return null;
  } finally {
    await client.end().catch(() => {});
  }
}

async function adminQuery({ adminUrl, text }: { adminUrl: string; text: string }): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}
