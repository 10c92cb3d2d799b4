import { type Kysely, sql } from "kysely";
import { isTransientConflict } from "./pgErrors.js";
import type { Schema } from "./schema.js";

/**
 * Runs `work` in a transaction, or inside the caller's when `db` already is one, so use cases
 * compose: the demo seed creates a user, an org and a key all-or-nothing.
 *
 * When PostgreSQL ends the transaction to break a deadlock or a serialization conflict, the
 * whole transaction is run again (the database undid all of it), a few times with a short
 * random pause: the caller sees the answer, never the conflict.
 */
export async function inTransaction<T>(
  db: Kysely<Schema>,
  work: (tx: Kysely<Schema>) => Promise<T>,
): Promise<T> {
  if (db.isTransaction) return work(db);
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().execute(work);
    } catch (error) {
      if (attempt >= MAX_ATTEMPTS || !isTransientConflict(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
    }
  }
}

const MAX_ATTEMPTS = 5;

/** Advisory lock keys; each names one thing that processes sharing a database take turns at. */
export const advisoryLocks = { migrations: 727_001, demoSeed: 727_002 } as const;

/** Held until the transaction ends. */
export async function takeAdvisoryLock(tx: Kysely<Schema>, key: number): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(${key})`.execute(tx);
}
