import type { Kysely } from "kysely";
import type { Logger } from "pino";
import { z } from "zod";
import { findOrg, lockOrg } from "../db/orgRepo.js";
import type { Schema } from "../db/schema.js";
import { claimStripeEvent, isStripeEventProcessed } from "../db/stripeRepo.js";
import { closeCheckoutSession, findOrgOfCustomer, saveCustomerId } from "../db/subscriptionRepo.js";
import { inTransaction } from "../db/transaction.js";
import type { Catalog } from "../domain/catalog.js";
import { idOf, type StripeGateway } from "../stripe/gateway.js";
import { fulfillCreditPurchase } from "./buyCredits.js";
import { refundCredits } from "./refundCredits.js";
import { syncOrgSubscription } from "./syncOrgSubscription.js";

const reference = z.union([z.string(), z.object({ id: z.string() })]).nullish();

/** The little of an event Meterline reads: ids. Everything else is re-read from Stripe. */
export const stripeEventSchema = z.object({
  id: z.string().min(1).max(255),
  type: z.string().min(1).max(255),
  // Seconds; bounded to instants a timestamp column can hold (up to 9999-12-31).
  created: z.number().int().nonnegative().max(253_402_300_799),
  data: z.object({
    object: z.looseObject({
      id: z.string().optional(),
      object: z.string(),
      customer: reference,
      client_reference_id: z.string().nullish(),
      subscription: reference,
      parent: z
        .looseObject({ subscription_details: z.looseObject({ subscription: reference }).nullish() })
        .nullish(),
    }),
  }),
});
export type StripeEvent = z.infer<typeof stripeEventSchema>;

export type EventOutcome = "processed" | "duplicate";

const subscriptionEvents = new Set([
  "customer.subscription.created",
  "customer.subscription.updated",
  "customer.subscription.deleted",
  "customer.subscription.paused",
  "customer.subscription.resumed",
]);
const invoiceEvents = new Set(["invoice.paid", "invoice.payment_succeeded", "invoice.payment_failed"]);
const checkoutEvents = new Set([
  "checkout.session.completed",
  "checkout.session.async_payment_succeeded",
  "checkout.session.async_payment_failed",
  "checkout.session.expired",
]);

/**
 * Applies one verified Stripe event, once forever: its id is claimed in the transaction that
 * applies it, under the organization's lock, so duplicates, retries and concurrent deliveries are
 * no-ops. Subscription state is never taken from the payload: it is re-read from Stripe and
 * converged (`syncOrgSubscription`), which makes late and reordered events harmless.
 */
export async function handleStripeEvent({
  db,
  stripe,
  catalog,
  event,
  supportEmail,
  now,
  logger,
}: {
  db: Kysely<Schema>;
  stripe: StripeGateway;
  catalog: Catalog;
  event: StripeEvent;
  /** Told of a credit purchase paid for other amounts than asked. */
  supportEmail: string;
  now: Date;
  logger?: Pick<Logger, "warn" | "error"> | undefined;
}): Promise<EventOutcome> {
  if (await isStripeEventProcessed(db, event.id)) return "duplicate";
  const object = event.data.object;
  const orgId = await orgOfEvent(db, event);
  return inTransaction(db, async (tx) => {
    if (orgId) await lockOrg(tx, orgId);
    const claimed = await claimStripeEvent(tx, {
      eventId: event.id,
      type: event.type,
      orgId,
      createdAt: new Date(event.created * 1000),
    });
    if (!claimed) return "duplicate";
    if (!orgId) return "processed";

    if (event.type === "charge.refunded" && object.id) {
      await refundCredits({ db: tx, stripe, orgId, chargeId: object.id, now, logger });
    } else if (checkoutEvents.has(event.type) && object.id) {
      await applyCheckout({ tx, stripe, catalog, orgId, sessionId: object.id, supportEmail, now, logger });
    } else if (
      subscriptionEvents.has(event.type) ||
      (invoiceEvents.has(event.type) && invoiceSubscription(event))
    ) {
      // An invoice without a subscription is a credit purchase: it never touches the plan.
      await syncOrgSubscription({ tx, stripe, catalog, orgId, now, logger });
    }
    return "processed";
  });
}

async function applyCheckout({
  tx,
  stripe,
  catalog,
  orgId,
  sessionId,
  supportEmail,
  now,
  logger,
}: {
  tx: Kysely<Schema>;
  stripe: StripeGateway;
  catalog: Catalog;
  orgId: string;
  sessionId: string;
  supportEmail: string;
  now: Date;
  logger?: Pick<Logger, "warn" | "error"> | undefined;
}): Promise<void> {
  const session = await stripe.retrieveCheckout(sessionId);
  if (session.orgId !== orgId) {
    logger?.warn({ org_id: orgId, session: sessionId }, "checkout session belongs to another organization");
    return;
  }
  if (session.mode === "payment" && session.status === "complete") {
    // A credit purchase: granted once, whether this or the browser's return comes first. It
    // takes the credit lock before touching the session's row, as the browser's return does.
    // One paid for other amounts than asked is held for support and answered like any other
    // event, so Stripe does not retry it for days.
    await fulfillCreditPurchase({ db: tx, stripe, catalog, orgId, sessionId, supportEmail, now, logger });
    return;
  }
  if (session.status === "complete" || session.status === "expired") {
    await closeCheckoutSession(tx, { orgId, sessionId, status: session.status });
  }
  if (session.mode !== "subscription" || session.status !== "complete") return;
  if (session.customerId) await saveCustomerId(tx, { orgId, customerId: session.customerId });
  await syncOrgSubscription({ tx, stripe, catalog, orgId, now, logger });
}

function invoiceSubscription(event: StripeEvent): string | null {
  const object = event.data.object;
  return idOf(object.parent?.subscription_details?.subscription) ?? idOf(object.subscription);
}

/**
 * The organization an event concerns: by its Stripe customer, or for a Checkout Session by the
 * organization Meterline put in `client_reference_id` (checked to exist).
 */
async function orgOfEvent(db: Kysely<Schema>, event: StripeEvent): Promise<string | null> {
  const object = event.data.object;
  const customerId = object.object === "customer" ? (object.id ?? null) : idOf(object.customer);
  if (customerId) {
    const orgId = await findOrgOfCustomer(db, customerId);
    if (orgId) return orgId;
  }
  if (object.object === "checkout.session" && object.client_reference_id) {
    const org = await findOrg(db, object.client_reference_id);
    if (org) return org.id;
  }
  return null;
}
