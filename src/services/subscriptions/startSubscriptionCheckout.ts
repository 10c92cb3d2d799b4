import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import { lockOrg } from "../../db/orgRepo.js";
import type { Schema } from "../../db/schema.js";
import {
  closeCheckoutSession,
  insertCheckoutSession,
  openCheckoutSessions,
} from "../../db/subscriptionRepo.js";
import { inTransaction } from "../../db/transaction.js";
import type { Catalog, Interval, Plan } from "../../domain/catalog.js";
import { consoleLinks } from "../../domain/consoleLinks.js";
import { AppError } from "../../domain/errors.js";
import { isLive, type SubscriptionRecord } from "../../domain/subscriptions.js";
import type { StripeGateway } from "../../stripe/gateway.js";
import { ensureStripeCustomer } from "./billingAccount.js";
import { refreshSubscription } from "./syncOrgSubscription.js";
import { stripePriceFor } from "./syncStripeCatalog.js";

/**
 * Opens a Stripe Checkout Session (subscription mode) for the plan at the catalog's price.
 * An organization with a live subscription changes it instead: it never gets a second one.
 *
 * No transaction waits on Stripe: the session is created first (an idempotent call), then
 * recorded under the organization's lock, which also names the subscription checkouts recorded
 * before it. Those are expired, so only the newest can be paid: of two racing requests, the later
 * expires the earlier. One found already paid is synced, and this one is expired and refused.
 */
export async function startSubscriptionCheckout({
  db,
  stripe,
  catalog,
  publicUrl,
  orgId,
  userId,
  plan,
  interval,
  now,
  logger,
}: {
  db: Kysely<Schema>;
  stripe: StripeGateway;
  catalog: Catalog;
  publicUrl: string;
  orgId: string;
  userId: string;
  plan: Plan;
  interval: Interval;
  now: Date;
  logger?: Pick<Logger, "warn" | "error"> | undefined;
}): Promise<{ checkoutUrl: string; sessionId: string }> {
  // Stripe's word, not the last webhook's: a subscription it has counts even if unannounced.
  refuseIfSubscribed(await refreshSubscription({ db, stripe, catalog, orgId, now, logger }));
  const priceId = await stripePriceFor({ db, stripe, catalog, plan, interval, now });
  const customerId = await ensureStripeCustomer({ db, stripe, orgId, userId });
  const consoleUrl = consoleLinks(publicUrl, orgId).plans;
  const session = await stripe.createSubscriptionCheckout({
    customerId,
    orgId,
    priceId,
    plan: plan.id,
    interval,
    successUrl: `${consoleUrl}&checkout=success&session_id={CHECKOUT_SESSION_ID}`,
    cancelUrl: `${consoleUrl}&checkout=canceled`,
    idempotencyKey: `checkout-${randomUUID()}`,
  });
  const older = await inTransaction(db, async (tx) => {
    await lockOrg(tx, orgId);
    const open = await openCheckoutSessions(tx, { orgId, mode: "subscription" });
    await insertCheckoutSession(tx, {
      orgId,
      sessionId: session.id,
      mode: "subscription",
      plan: plan.id,
      interval,
      createdBy: userId,
      now,
    });
    return open;
  });
  let paidMeanwhile = false;
  for (const sessionId of older) {
    if ((await expireSession({ db, stripe, orgId, sessionId })) === "complete") paidMeanwhile = true;
  }
  if (paidMeanwhile) {
    const subscription = await refreshSubscription({ db, stripe, catalog, orgId, now, logger });
    if (subscription && isLive(subscription.status)) {
      await expireSession({ db, stripe, orgId, sessionId: session.id });
      refuseIfSubscribed(subscription);
    }
  }
  return { checkoutUrl: session.url, sessionId: session.id };
}

/** Expires a session at Stripe, then records how it ended: "complete" when it was paid first. */
async function expireSession({
  db,
  stripe,
  orgId,
  sessionId,
}: {
  db: Kysely<Schema>;
  stripe: StripeGateway;
  orgId: string;
  sessionId: string;
}): Promise<"complete" | "expired"> {
  const status = (await stripe.expireCheckout(sessionId)) === "complete" ? "complete" : "expired";
  await closeCheckoutSession(db, { orgId, sessionId, status });
  return status;
}

function refuseIfSubscribed(subscription: SubscriptionRecord | null): void {
  if (subscription && isLive(subscription.status)) {
    throw new AppError(
      "subscription_exists",
      "This organization already has a subscription: change it with POST /v1/orgs/{org}/subscription/change",
    );
  }
}
