import type { Kysely } from "kysely";
import type { Schema, UsageEventsTable } from "./schema.js";

export type UsageEventRow = Omit<UsageEventsTable, "received_at">;

/**
 * Inserts the rows that are new and returns their keys; rows whose (org_id, id) exists are left
 * alone. Rows go in key order, so two batches sharing ids take their row locks in the same order
 * and cannot deadlock.
 */
export async function insertNewUsageEvents(
  db: Kysely<Schema>,
  rows: UsageEventRow[],
): Promise<{ org_id: string; id: string }[]> {
  if (rows.length === 0) return [];
  const ordered = [...rows].sort((a, b) => compare(a.org_id, b.org_id) || compare(a.id, b.id));
  return db
    .insertInto("usage_events")
    .values(ordered)
    .onConflict((oc) => oc.columns(["org_id", "id"]).doNothing())
    .returning(["org_id", "id"])
    .execute();
}

export async function findPayloadHashes(
  db: Kysely<Schema>,
  keys: { org_id: string; id: string }[],
): Promise<{ org_id: string; id: string; payload_hash: string }[]> {
  if (keys.length === 0) return [];
  return db
    .selectFrom("usage_events")
    .select(["org_id", "id", "payload_hash"])
    .where((eb) => eb.or(keys.map((key) => eb.and([eb("org_id", "=", key.org_id), eb("id", "=", key.id)]))))
    .execute();
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
