import type { Kysely } from "kysely";
import { type ContactRequestRow, insertContactRequest } from "../../db/contactRequestRepo.js";
import { queueEmail } from "../../db/emailRepo.js";
import { lockOrg } from "../../db/orgRepo.js";
import type { Schema } from "../../db/schema.js";
import { inTransaction } from "../../db/transaction.js";
import { findUserById } from "../../db/userRepo.js";
import { newId } from "../../domain/ids.js";
import { enforceActionLimit } from "../accounts/enforceActionLimit.js";

/**
 * Stores a request for a custom plan and emails it to the sales team (`SUPPORT_EMAIL`). An
 * organization makes at most `actionLimits.contactSalesPerOrg` a day, counted from the stored
 * requests under its lock, so the sales inbox cannot be flooded from any number of processes.
 */
export async function requestCustomPlan({
  db,
  orgId,
  userId,
  message,
  supportEmail,
  now,
}: {
  db: Kysely<Schema>;
  orgId: string;
  userId: string;
  message: string;
  supportEmail: string;
  now: Date;
}): Promise<ContactRequestRow> {
  return inTransaction(db, async (tx) => {
    const org = await lockOrg(tx, orgId);
    await enforceActionLimit({ tx, action: "contactSalesPerOrg", actor: orgId, now });
    const row = await insertContactRequest(tx, {
      org_id: orgId,
      id: newId("csr", now.getTime()),
      user_id: userId,
      message,
      created_at: now,
    });
    const user = await findUserById(tx, userId);
    await queueEmail(tx, {
      orgId,
      dedupeKey: `contact_sales:${row.id}`,
      facts: {
        kind: "contact_sales",
        org_name: org?.name ?? orgId,
        org_id: orgId,
        from_name: user?.name ?? "",
        from_email: user?.email ?? "",
        message,
      },
      to: [supportEmail],
      now,
    });
    return row;
  });
}
