import type { Kysely } from "kysely";
import type { Logger } from "pino";
import { lockOrg } from "../db/orgRepo.js";
import type { Schema } from "../db/schema.js";
import { closeCheckoutSession, insertCheckoutSession, openCheckoutSessions } from "../db/subscriptionRepo.js";
import { inTransaction } from "../db/transaction.js";
import type { Catalog, Interval, Plan } from "../domain/catalog.js";
import { consoleLinks } from "../domain/consoleLinks.js";
import { AppError } from "../domain/errors.js";
import { isLive, type SubscriptionRecord } from "../domain/subscriptions.js";
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
  logger?: Pick<Logger, "warn" | "error"> | undefined;
}): Promise<{ checkoutUrl: string; sessionId: string }> {
  // One checkout of an organization at a time: two racing requests cannot both leave a payable
  // session open (which could end in two subscriptions).
  return inTransaction(db, async (tx) => {
    await lockOrg(tx, orgId);
    // Stripe's word, not the last webhook's: a subscription it has counts even if unannounced.
    refuseIfSubscribed(await refreshSubscription({ db: tx, stripe, catalog, orgId, now, logger }));
    const priceId = await stripePriceFor({ db: tx, stripe, catalog, plan, interval, now });
    const customerId = await ensureStripeCustomer({ db: tx, stripe, orgId, userId });
    for (const sessionId of await openCheckoutSessions(tx, { orgId, mode: "subscription" })) {
      const status = await stripe.expireCheckout(sessionId);
      await closeCheckoutSession(tx, {
        orgId,
        sessionId,
        status: status === "complete" ? "complete" : "expired",
      });
      if (status === "complete")
        refuseIfSubscribed(await refreshSubscription({ db: tx, stripe, catalog, orgId, now, logger }));
    }
    const consoleUrl = consoleLinks(publicUrl, orgId).plans;
    const session = await stripe.createSubscriptionCheckout({
      customerId,
      orgId,
      priceId,
      plan: plan.id,
      interval,
      successUrl: `${consoleUrl}&checkout=success&session_id={CHECKOUT_SESSION_ID}`,
      cancelUrl: `${consoleUrl}&checkout=canceled`,
    });
    await insertCheckoutSession(tx, {
      orgId,
      sessionId: session.id,
      mode: "subscription",
      plan: plan.id,
      interval,
      createdBy: userId,
      now,
    });
    return { checkoutUrl: session.url, sessionId: session.id };
  });
}

function refuseIfSubscribed(subscription: SubscriptionRecord | null): void {
  if (subscription && isLive(subscription.status)) {
    throw new AppError(
      "subscription_exists",
      "This organization already has a subscription: change it with POST /v1/orgs/{org}/subscription/change",
    );
  }
}
