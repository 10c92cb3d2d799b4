import type { Kysely } from "kysely";
import type { ContactRequestsTable, Schema } from "./schema.js";

export type ContactRequestRow = Omit<ContactRequestsTable, "created_at"> & { created_at: Date };

export async function insertContactRequest(
  db: Kysely<Schema>,
  row: ContactRequestRow,
): Promise<ContactRequestRow> {
  return db.insertInto("contact_requests").values(row).returningAll().executeTakeFirstOrThrow();
}

/** When the organization's latest requests were made since `since`, newest first, at most `max`. */
export async function latestContactRequests(
  db: Kysely<Schema>,
  { orgId, since, max }: { orgId: string; since: Date; max: number },
): Promise<Date[]> {
  const rows = await db
    .selectFrom("contact_requests")
    .select("created_at")
    .where("org_id", "=", orgId)
    .where("created_at", ">", since)
    .orderBy("created_at", "desc")
    .limit(max)
    .execute();
  return rows.map((row) => row.created_at);
}
