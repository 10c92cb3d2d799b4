import type { Kysely } from "kysely";
import type { Schema, UsageEventsTable } from "./schema.js";

export type UsageEventRow = Omit<UsageEventsTable, "received_at">;

/** Inserts the rows that are new and returns their keys; rows whose (org_id, id) exists are left alone. */
export async function insertNewUsageEvents(
  db: Kysely<Schema>,
  rows: UsageEventRow[],
): Promise<{ org_id: string; id: string }[]> {
  if (rows.length === 0) return [];
  return db
    .insertInto("usage_events")
    .values(rows)
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
