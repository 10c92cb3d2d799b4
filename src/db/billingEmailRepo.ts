import type { Kysely, Selectable } from "kysely";
import type { BillingEmailConfirmationsTable, Schema } from "./schema.js";

export type BillingEmailConfirmationRow = Selectable<BillingEmailConfirmationsTable>;

export async function insertBillingEmailConfirmation(
  db: Kysely<Schema>,
  row: Omit<BillingEmailConfirmationRow, "used_at">,
): Promise<void> {
  await db.insertInto("billing_email_confirmations").values(row).execute();
}

/** The link, locked for the rest of the transaction so that it is used once. */
export async function lockBillingEmailConfirmation(
  db: Kysely<Schema>,
  { orgId, tokenHash }: { orgId: string; tokenHash: string },
): Promise<BillingEmailConfirmationRow | undefined> {
  return db
    .selectFrom("billing_email_confirmations")
    .selectAll()
    .where("org_id", "=", orgId)
    .where("token_hash", "=", tokenHash)
    .forUpdate()
    .executeTakeFirst();
}

export async function markBillingEmailConfirmationUsed(
  db: Kysely<Schema>,
  { orgId, tokenHash, now }: { orgId: string; tokenHash: string; now: Date },
): Promise<void> {
  await db
    .updateTable("billing_email_confirmations")
    .set({ used_at: now })
    .where("org_id", "=", orgId)
    .where("token_hash", "=", tokenHash)
    .execute();
}
