import { type Kysely, sql } from "kysely";
import type { Schema } from "./schema.js";

/**
 * Runs `work` in a transaction, or inside the caller's when `db` already is one, so use cases
 * compose: the demo seed creates a user, an org and a key all-or-nothing.
 */
export function inTransaction<T>(db: Kysely<Schema>, work: (tx: Kysely<Schema>) => Promise<T>): Promise<T> {
  return db.isTransaction ? work(db) : db.transaction().execute(work);
}

/** Advisory lock keys; each names one thing that processes sharing a database take turns at. */
export const advisoryLocks = { migrations: 727_001, demoSeed: 727_002 } as const;

/** Held until the transaction ends. */
export async function takeAdvisoryLock(tx: Kysely<Schema>, key: number): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(${key})`.execute(tx);
}
