import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Schema } from "../../db/schema.js";
import type { Catalog, Interval, Plan } from "../../domain/catalog.js";
import { AppError } from "../../domain/errors.js";
import { isLive, type SubscriptionRecord } from "../../domain/subscriptions.js";
import type { StripeGateway } from "../../stripe/gateway.js";
import { refreshSubscription } from "./syncOrgSubscription.js";
import { stripePriceFor } from "./syncStripeCatalog.js";

/**
 * Moves the organization's one subscription to another plan or interval, prorated and invoiced
 * by Stripe now; the subscription keeps its id. An upgrade whose proration cannot be paid is
 * refused (`payment_failed`) and changes nothing. Asking for the plan it is already on changes
 * nothing (a retried request is harmless), except that it withdraws a pending cancellation.
 * Decisions are taken on Stripe's state, read first, not on what the last webhook left.
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
  logger?: Pick<Logger, "warn" | "error"> | undefined;
}): Promise<SubscriptionRecord> {
  const current = await liveSubscription({ db, stripe, catalog, orgId, now, logger });
  if (current.plan === plan.id && current.interval === interval && !current.cancelAtPeriodEnd) return current;
  const priceId = await stripePriceFor({ db, stripe, catalog, plan, interval, now });
  const facts = await stripe.retrieveSubscription(current.stripeSubscriptionId);
  if (facts.priceId !== priceId || facts.cancelAtPeriodEnd) {
    await stripe.changeSubscriptionPrice({ subscriptionId: facts.id, itemId: facts.itemId, priceId });
  }
  return (await refreshSubscription({ db, stripe, catalog, orgId, now, logger })) ?? current;
}

/** Cancels at the end of the paid period; the plan serves until then. Idempotent. */
export async function cancelSubscription({
  db,
  stripe,
  catalog,
  orgId,
  now,
  logger,
}: {
  db: Kysely<Schema>;
  stripe: StripeGateway;
  catalog: Catalog;
  orgId: string;
  now: Date;
  logger?: Pick<Logger, "warn" | "error"> | undefined;
}): Promise<SubscriptionRecord> {
  const current = await liveSubscription({ db, stripe, catalog, orgId, now, logger });
  if (current.cancelAtPeriodEnd) return current;
  await stripe.setCancelAtPeriodEnd({ subscriptionId: current.stripeSubscriptionId, cancel: true });
  return (await refreshSubscription({ db, stripe, catalog, orgId, now, logger })) ?? current;
}

/** The subscription as Stripe has it now (a webhook may not have arrived yet), which must be live. */
async function liveSubscription({
  db,
  stripe,
  catalog,
  orgId,
  now,
  logger,
}: {
  db: Kysely<Schema>;
  stripe: StripeGateway;
  catalog: Catalog;
  orgId: string;
  now: Date;
  logger?: Pick<Logger, "warn" | "error"> | undefined;
}): Promise<SubscriptionRecord> {
  const current = await refreshSubscription({ db, stripe, catalog, orgId, now, logger });
  if (!current || !isLive(current.status)) {
    throw new AppError(
      "no_subscription",
      "This organization has no subscription: start one with POST /v1/orgs/{org}/checkout/subscription",
    );
  }
  return current;
}
