import type { Kysely } from "kysely";
import type { Metric } from "../domain/usageEvents.js";
import type { Schema } from "./schema.js";

export interface UsageEventRow {
  org_id: string;
  id: string;
  app_id: string;
  metric: Metric;
  occurred_at: Date;
  device_id: string | null;
  value: bigint | null;
  payload_hash: string;
}

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
