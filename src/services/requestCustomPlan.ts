import type { Kysely } from "kysely";
import { type ContactRequestRow, insertContactRequest } from "../db/contactRequestRepo.js";
import type { Schema } from "../db/schema.js";
import { newId } from "../domain/ids.js";

/** Stores a request for a custom plan for the sales team. */
export async function requestCustomPlan({
  db,
  orgId,
  userId,
  message,
  now,
}: {
  db: Kysely<Schema>;
  orgId: string;
  userId: string;
  message: string;
  now: Date;
}): Promise<ContactRequestRow> {
  return insertContactRequest(db, {
    org_id: orgId,
    id: newId("csr", now.getTime()),
    user_id: userId,
    message,
    created_at: now,
  });
}
