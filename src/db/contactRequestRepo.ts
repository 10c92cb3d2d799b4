import type { Kysely } from "kysely";
import type { ContactRequestsTable, Schema } from "./schema.js";

export type ContactRequestRow = Omit<ContactRequestsTable, "created_at"> & { created_at: Date };

export async function insertContactRequest(
  db: Kysely<Schema>,
  row: ContactRequestRow,
): Promise<ContactRequestRow> {
  return db.insertInto("contact_requests").values(row).returningAll().executeTakeFirstOrThrow();
}
