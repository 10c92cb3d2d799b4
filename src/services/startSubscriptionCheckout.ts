import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Schema } from "../db/schema.js";
import {
  closeCheckoutSession,
  findSubscription,
  insertCheckoutSession,
  openCheckoutSessions,
} from "../db/subscriptionRepo.js";
import type { Catalog, Interval, Plan } from "../domain/catalog.js";
import { AppError } from "../domain/errors.js";
import { isLive } from "../domain/subscriptions.js";
import type { StripeGateway } from "../stripe/gateway.js";
import { ensureStripeCustomer, refreshSubscription } from "./billingAccount.js";
import { stripePriceFor } from "./syncStripeCatalog.js";

/**
 * Opens a Stripe Checkout Session (subscription mode) for the plan at the catalog's price.
 * An organization with a live subscription changes it instead: it never gets a second one. Older
 * open subscription checkouts of the organization are expired first, so only the newest can be
 * paid; one found already paid is synced and blocks this one.
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
  logger?: Pick<Logger, "warn"> | undefined;
}): Promise<{ checkoutUrl: string; sessionId: string }> {
  await refuseIfSubscribed(await findSubscription(db, orgId));
  const priceId = await stripePriceFor({ db, stripe, catalog, plan, interval, now });
  const customerId = await ensureStripeCustomer({ db, stripe, orgId });
  for (const sessionId of await openCheckoutSessions(db, { orgId, mode: "subscription" })) {
    const outcome = await stripe.expireCheckout(sessionId);
    const session = outcome === "expired" ? null : await stripe.retrieveCheckout(sessionId);
    await closeCheckoutSession(db, {
      orgId,
      sessionId,
      status: session?.status === "complete" ? "complete" : "expired",
    });
    if (session?.status === "complete") {
      await refuseIfSubscribed(await refreshSubscription({ db, stripe, orgId, now, logger }));
    }
  }
  const consoleUrl = `${publicUrl}/plans?org=${encodeURIComponent(orgId)}`;
  const session = await stripe.createSubscriptionCheckout({
    customerId,
    orgId,
    priceId,
    plan: plan.id,
    interval,
    successUrl: `${consoleUrl}&checkout=success&session_id={CHECKOUT_SESSION_ID}`,
    cancelUrl: `${consoleUrl}&checkout=canceled`,
  });
  await insertCheckoutSession(db, {
    orgId,
    sessionId: session.id,
    mode: "subscription",
    plan: plan.id,
    interval,
    createdBy: userId,
    now,
  });
  return { checkoutUrl: session.url, sessionId: session.id };
}

async function refuseIfSubscribed(subscription: { status: Parameters<typeof isLive>[0] } | null | undefined) {
  if (subscription && isLive(subscription.status)) {
    throw new AppError(
      "subscription_exists",
      "This organization already has a subscription: change it with POST /v1/orgs/{org}/subscription/change",
    );
  }
}
