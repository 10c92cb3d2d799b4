import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Schema } from "../db/schema.js";
import { findSubscription } from "../db/subscriptionRepo.js";
import type { Catalog, Interval, Plan } from "../domain/catalog.js";
import { AppError } from "../domain/errors.js";
import { isLive, type SubscriptionRecord } from "../domain/subscriptions.js";
import type { StripeGateway } from "../stripe/gateway.js";
import { refreshSubscription } from "./billingAccount.js";
import { stripePriceFor } from "./syncStripeCatalog.js";

/**
 * Moves the organization's one subscription to another plan or interval, prorated and invoiced
 * by Stripe now; the subscription keeps its id. Asking for the plan it is already on changes
 * nothing (a retried request is harmless), except that it withdraws a pending cancellation.
 */
export async function changeSubscription({
  db,
  stripe,
  catalog,
  orgId,
  plan,
  interval,
  now,
  logger,
}: {
  db: Kysely<Schema>;
  stripe: StripeGateway;
  catalog: Catalog;
  orgId: string;
  plan: Plan;
  interval: Interval;
  now: Date;
  logger?: Pick<Logger, "warn"> | undefined;
}): Promise<SubscriptionRecord> {
  const current = await liveSubscription(db, orgId);
  if (current.plan === plan.id && current.interval === interval && !current.cancelAtPeriodEnd) return current;
  const priceId = await stripePriceFor({ db, stripe, catalog, plan, interval, now });
  const facts = await stripe.retrieveSubscription(current.stripeSubscriptionId);
  if (facts.priceId !== priceId || facts.cancelAtPeriodEnd) {
    await stripe.changeSubscriptionPrice({
      subscriptionId: facts.id,
      itemId: facts.itemId,
      priceId,
      // The same change of the same period is one change, however often it is asked for.
      idempotencyKey: `change-${facts.id}-${priceId}-${facts.currentPeriodStart.getTime()}`,
    });
  }
  return (await refreshSubscription({ db, stripe, orgId, now, logger })) ?? current;
}

/** Cancels at the end of the paid period; the plan serves until then. Idempotent. */
export async function cancelSubscription({
  db,
  stripe,
  orgId,
  now,
  logger,
}: {
  db: Kysely<Schema>;
  stripe: StripeGateway;
  orgId: string;
  now: Date;
  logger?: Pick<Logger, "warn"> | undefined;
}): Promise<SubscriptionRecord> {
  const current = await liveSubscription(db, orgId);
  if (current.cancelAtPeriodEnd) return current;
  await stripe.setCancelAtPeriodEnd({ subscriptionId: current.stripeSubscriptionId, cancel: true });
  return (await refreshSubscription({ db, stripe, orgId, now, logger })) ?? current;
}

async function liveSubscription(db: Kysely<Schema>, orgId: string): Promise<SubscriptionRecord> {
  const current = await findSubscription(db, orgId);
  if (!current || !isLive(current.status)) {
    throw new AppError(
      "no_subscription",
      "This organization has no subscription: start one with POST /v1/orgs/{org}/checkout/subscription",
    );
  }
  return current;
}
