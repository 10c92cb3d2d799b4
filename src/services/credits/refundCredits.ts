import type { Kysely } from "kysely";
import type { Logger } from "pino";
import { lockAccount, postOperation } from "../../db/creditPosting.js";
import { purchaseOfPayment } from "../../db/creditReads.js";
import type { Schema } from "../../db/schema.js";
import { inTransaction } from "../../db/transaction.js";
import { formatCents, formatCredits, minBig } from "../../domain/money.js";
import type { ChargeFacts, StripeGateway } from "../../stripe/gateway.js";

/**
 * Takes back the credits a refunded payment bought, by a `refund` entry: the refunded share of
 * what was paid (tax included), of the credits it bought, less what earlier refunds took. Only
 * what is left of that purchase can be taken: the balance never goes below zero. The charge is
 * re-read from Stripe, outside any transaction; each refunded total is one operation, so repeats are no-ops.
 *
 * Example: 100 credits paid 120.00 (FR VAT); a refund of 60.00 takes back 50 credits.
 */
export async function refundCredits({
  db,
  stripe,
  orgId,
  chargeId,
  now,
  logger,
}: {
  db: Kysely<Schema>;
  /** Only reads the charge: what Stripe says was refunded. */
  stripe: Pick<StripeGateway, "retrieveCharge">;
  orgId: string;
  chargeId: string;
  now: Date;
  logger?: Pick<Logger, "warn"> | undefined;
}): Promise<{ takenBack: bigint }> {
  const charge = await stripe.retrieveCharge(chargeId);
  return inTransaction(db, (tx) => takeBackRefund({ tx, orgId, charge, now, logger }));
}

/** Writes what a charge read from Stripe says was refunded, in the caller's transaction. */
export async function takeBackRefund({
  tx,
  orgId,
  charge,
  now,
  logger,
}: {
  tx: Kysely<Schema>;
  orgId: string;
  charge: ChargeFacts;
  now: Date;
  logger?: Pick<Logger, "warn"> | undefined;
}): Promise<{ takenBack: bigint }> {
  if (!charge.paymentIntentId || charge.amount <= 0) return { takenBack: 0n };
  await lockAccount(tx, { orgId, now });
  const purchase = await purchaseOfPayment(tx, { orgId, paymentIntentId: charge.paymentIntentId });
  if (!purchase) return { takenBack: 0n };
  const { grant, refunded } = purchase;
  const owed = (BigInt(grant.amount) * BigInt(charge.amountRefunded)) / BigInt(charge.amount) - refunded;
  const takenBack = minBig(owed, BigInt(grant.remaining));
  if (owed > takenBack) {
    logger?.warn(
      { org_id: orgId, charge: charge.id, spent: formatCredits(owed - takenBack) },
      "refunded credits were already spent; only what is left is taken back",
    );
  }
  if (takenBack <= 0n) return { takenBack: 0n };
  await postOperation(tx, {
    orgId,
    operationKey: `refund:${charge.id}:${charge.amountRefunded}`,
    entries: [
      {
        type: "refund",
        amount: -takenBack,
        grantId: grant.id,
        description: `Refunded: ${formatCents(charge.amountRefunded, charge.currency)} in all`,
      },
    ],
    now,
  });
  return { takenBack };
}
