import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import { recordCreditPaymentMismatch } from "../../db/creditPaymentMismatchRepo.js";
import { postOperation } from "../../db/creditPosting.js";
import { queueEmail } from "../../db/emailRepo.js";
import { findOrg } from "../../db/orgRepo.js";
import type { Schema } from "../../db/schema.js";
import { closeCheckoutSession, insertCheckoutSession } from "../../db/subscriptionRepo.js";
import { inTransaction } from "../../db/transaction.js";
import type { Catalog } from "../../domain/catalog.js";
import { consoleLinks } from "../../domain/consoleLinks.js";
import { type CreditPaymentCheck, checkCreditPayment, MAX_CREDITS } from "../../domain/creditPurchase.js";
import { AppError } from "../../domain/errors.js";
import { formatCredits, MICROS_PER_CREDIT } from "../../domain/money.js";
import type { CreditCheckoutFacts, StripeGateway } from "../../stripe/gateway.js";
import { ensureStripeCustomer } from "../subscriptions/billingAccount.js";
import { defaultGrantExpiry } from "./creditGrants.js";

/**
 * Opens Stripe Checkout (payment mode) for `credits` credits; the buyer may change the quantity
 * there. The session is created first (an idempotent call), then recorded.
 */
export async function startCreditCheckout({
  db,
  stripe,
  catalog,
  publicUrl,
  orgId,
  userId,
  credits,
  now,
}: {
  db: Kysely<Schema>;
  stripe: StripeGateway;
  catalog: Catalog;
  publicUrl: string;
  orgId: string;
  userId: string;
  credits: number;
  now: Date;
}): Promise<{ checkoutUrl: string; sessionId: string }> {
  const customerId = await ensureStripeCustomer({ db, stripe, orgId, userId });
  const priceId = await stripe.creditPrice({ currency: catalog.currency });
  const page = consoleLinks(publicUrl, orgId).credits;
  const session = await stripe.createCreditCheckout({
    customerId,
    orgId,
    priceId,
    credits,
    maxCredits: MAX_CREDITS,
    successUrl: `${page}&checkout=success&session_id={CHECKOUT_SESSION_ID}`,
    cancelUrl: `${page}&checkout=canceled`,
    idempotencyKey: `checkout-${randomUUID()}`,
  });
  await insertCheckoutSession(db, {
    orgId,
    sessionId: session.id,
    mode: "payment",
    plan: null,
    interval: null,
    createdBy: userId,
    now,
  });
  return { checkoutUrl: session.url, sessionId: session.id };
}

export type Fulfilment =
  | { status: "granted" | "already_granted"; credits: bigint; grantId: string | null }
  | { status: "pending" }
  | { status: "needs_support"; problem: string };

/**
 * Grants the credits a paid Checkout Session bought, once per session however many times and
 * however concurrently it runs (the webhook and the browser's return both call it): the
 * session id keys the ledger operation. Idempotent and convergent. The session is re-read from
 * Stripe first, outside any transaction; quantity, unit price, currency and amounts must agree
 * with what Meterline asked (`checkCreditPayment`), or nothing is granted: the session is
 * recorded, logged as an error and emailed to support, once, and answered `needs_support` every
 * time.
 */
export async function fulfillCreditPurchase({
  db,
  stripe,
  catalog,
  orgId,
  sessionId,
  supportEmail,
  now,
  logger,
}: {
  db: Kysely<Schema>;
  /** Only reads the session: what Stripe says was paid. */
  stripe: Pick<StripeGateway, "retrieveCreditCheckout">;
  catalog: Catalog;
  orgId: string;
  sessionId: string;
  /** Told of a payment that needs support. */
  supportEmail: string;
  now: Date;
  logger?: Pick<Logger, "error"> | undefined;
}): Promise<Fulfilment> {
  const session = await readCreditPurchase({ stripe, orgId, sessionId });
  const { fulfilment, alert } = await inTransaction(db, (tx) =>
    recordCreditPurchase({ tx, catalog, orgId, session, supportEmail, now }),
  );
  if (alert) logger?.error(alert, CREDIT_PAYMENT_MISMATCH);
  return fulfilment;
}

/** The credit purchase a Checkout Session is, as Stripe has it now; refused if it is none. */
export async function readCreditPurchase({
  stripe,
  orgId,
  sessionId,
}: {
  stripe: Pick<StripeGateway, "retrieveCreditCheckout">;
  orgId: string;
  sessionId: string;
}): Promise<CreditCheckoutFacts> {
  const session = await stripe.retrieveCreditCheckout(sessionId);
  if (!session || session.orgId !== orgId) {
    throw new AppError("not_found", `Checkout Session ${sessionId} not found for this organization`);
  }
  if (session.mode !== "payment" || session.purpose !== "credits") {
    throw new AppError("invalid_request", `session_id: ${sessionId} is not a credit purchase`);
  }
  return session;
}

/** Logged, with the facts of the session, when a mismatched payment is first recorded. */
export const CREDIT_PAYMENT_MISMATCH =
  "paid credit checkout does not match what was asked: nothing granted, support emailed";

/**
 * Writes what a credit purchase read from Stripe (`readCreditPurchase`) comes to, in the
 * caller's transaction: the grant, or the mismatch held for support. `alert` is what to log once
 * the transaction commits, the first time a mismatch is recorded.
 */
export async function recordCreditPurchase({
  tx,
  catalog,
  orgId,
  session,
  supportEmail,
  now,
}: {
  tx: Kysely<Schema>;
  catalog: Catalog;
  orgId: string;
  session: CreditCheckoutFacts;
  supportEmail: string;
  now: Date;
}): Promise<{ fulfilment: Fulfilment; alert: Record<string, unknown> | null }> {
  if (session.status !== "complete" || session.paymentStatus !== "paid") {
    return { fulfilment: { status: "pending" }, alert: null };
  }
  const check = checkCreditPayment({ paid: session, currency: catalog.currency });
  if (!check.matches) {
    const first = await holdForSupport({
      tx,
      orgId,
      session,
      check,
      currency: catalog.currency,
      supportEmail,
      now,
    });
    return {
      fulfilment: { status: "needs_support", problem: check.problem },
      alert: first
        ? {
            org_id: orgId,
            session: session.id,
            asked_subtotal_cents: check.askedSubtotalCents,
            paid_subtotal_cents: session.amountSubtotal,
            paid_total_cents: session.amountTotal,
            paid_quantity: session.quantity,
            problem: check.problem,
          }
        : null,
    };
  }
  const sessionId = session.id;
  const quantity = check.credits;
  const credits = BigInt(quantity) * MICROS_PER_CREDIT;
  const expiresAt = defaultGrantExpiry(now);
  const { posted, entries } = await postOperation(tx, {
    orgId,
    operationKey: `purchase:${sessionId}`,
    newGrant: {
      source: "purchase",
      amount: credits,
      expiresAt,
      note: `Checkout ${sessionId}`,
      paymentIntentId: session.paymentIntentId,
    },
    entries: [
      { type: "purchase", amount: credits, grantId: "new", description: `Bought ${quantity} credits` },
    ],
    now,
  });
  await closeCheckoutSession(tx, { orgId, sessionId, status: "complete" });
  if (posted) {
    const subtotal = Number(session.amountSubtotal ?? 0);
    const total = Number(session.amountTotal ?? subtotal);
    await queueEmail(tx, {
      orgId,
      dedupeKey: `purchase_receipt:${sessionId}`,
      facts: {
        kind: "purchase_receipt",
        org_name: (await findOrg(tx, orgId))?.name ?? orgId,
        credits: formatCredits(credits),
        subtotal_cents: subtotal,
        tax_cents: total - subtotal,
        total_cents: total,
        currency: session.currency ?? catalog.currency,
        expires_at: expiresAt.toISOString(),
      },
      now,
    });
  }
  return {
    fulfilment: {
      status: posted ? "granted" : "already_granted",
      credits,
      grantId: entries[0]?.grant_id ?? null,
    },
    alert: null,
  };
}

/**
 * Records a paid session whose amounts are not what Meterline asked, grants nothing, and tells
 * support, once per session: answers whether this was the first time it was recorded.
 */
async function holdForSupport({
  tx,
  orgId,
  session,
  check,
  currency,
  supportEmail,
  now,
}: {
  tx: Kysely<Schema>;
  orgId: string;
  session: CreditCheckoutFacts;
  check: Extract<CreditPaymentCheck, { matches: false }>;
  /** The catalog's: what was asked in. */
  currency: string;
  supportEmail: string;
  now: Date;
}): Promise<boolean> {
  const big = (amount: number | null) => (amount === null ? null : BigInt(amount));
  const first = await recordCreditPaymentMismatch(tx, {
    org_id: orgId,
    session_id: session.id,
    payment_intent_id: session.paymentIntentId,
    asked_subtotal_cents: big(check.askedSubtotalCents),
    asked_currency: currency,
    paid_quantity: big(session.quantity),
    paid_unit_amount_cents: big(session.unitAmount),
    paid_subtotal_cents: big(session.amountSubtotal),
    paid_total_cents: big(session.amountTotal),
    paid_currency: session.currency,
    problem: check.problem,
    created_at: now,
  });
  await closeCheckoutSession(tx, { orgId, sessionId: session.id, status: "complete" });
  if (!first) return false;
  await queueEmail(tx, {
    orgId,
    dedupeKey: `credit_payment_mismatch:${session.id}`,
    facts: {
      kind: "credit_payment_mismatch",
      org_name: (await findOrg(tx, orgId))?.name ?? orgId,
      org_id: orgId,
      session_id: session.id,
      payment_intent_id: session.paymentIntentId,
      asked: check.asked,
      paid: check.paid,
      problem: check.problem,
    },
    to: [supportEmail],
    now,
  });
  return true;
}
