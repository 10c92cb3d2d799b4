import type { Kysely, Selectable } from "kysely";
import type { CreditPaymentMismatchesTable, Schema } from "./schema.js";

export type CreditPaymentMismatchRow = Selectable<CreditPaymentMismatchesTable>;

/** Records the mismatch once per Checkout Session; answers whether this call recorded it. */
export async function recordCreditPaymentMismatch(
  db: Kysely<Schema>,
  row: CreditPaymentMismatchRow,
): Promise<boolean> {
  const inserted = await db
    .insertInto("credit_payment_mismatches")
    .values(row)
    .onConflict((oc) => oc.columns(["org_id", "session_id"]).doNothing())
    .returning("session_id")
    .executeTakeFirst();
  return inserted !== undefined;
}
