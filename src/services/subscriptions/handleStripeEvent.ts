import type { Kysely } from "kysely";
import type { Logger } from "pino";
import { z } from "zod";
import { findOrg, type OrgRow } from "../../db/orgRepo.js";
import type { Schema } from "../../db/schema.js";
import { claimStripeEvent, isStripeEventProcessed } from "../../db/stripeRepo.js";
import { closeCheckoutSession, findOrgOfCustomer } from "../../db/subscriptionRepo.js";
import { inTransaction } from "../../db/transaction.js";
import type { Catalog } from "../../domain/catalog.js";
import {
  type ChargeFacts,
  type CheckoutSessionFacts,
  type CreditCheckoutFacts,
  idOf,
  type StripeGateway,
} from "../../stripe/gateway.js";
import { CREDIT_PAYMENT_MISMATCH, readCreditPurchase, recordCreditPurchase } from "../credits/buyCredits.js";
import { takeBackRefund } from "../credits/refundCredits.js";
import {
  applySubscriptions,
  convergeWithStripe,
  readSubscriptions,
  type SubscriptionsRead,
} from "./syncOrgSubscription.js";

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

/** What Stripe says now of what an event concerns, read before any transaction. */
type EventFacts =
  | { kind: "refund"; charge: ChargeFacts; subscriptions?: undefined }
  | { kind: "credit_purchase"; session: CreditCheckoutFacts; subscriptions?: undefined }
  | { kind: "checkout"; session: CheckoutSessionFacts; subscriptions?: SubscriptionsRead | undefined }
  | { kind: "subscription"; subscriptions: SubscriptionsRead }
  | { kind: "nothing"; subscriptions?: undefined };

/**
 * Applies one verified Stripe event, once forever. What the event concerns is read from Stripe
 * first, outside any transaction (subscription state is never taken from the payload, which
 * makes late and reordered events harmless); then one short transaction takes the
 * organization's lock, claims the event id and writes. Duplicates, retries and concurrent
 * deliveries are no-ops; a sync that committed meanwhile makes it read Stripe again
 * (`convergeWithStripe`).
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
  const claim = (tx: Kysely<Schema>, orgId: string | null) =>
    claimStripeEvent(tx, {
      eventId: event.id,
      type: event.type,
      orgId,
      createdAt: new Date(event.created * 1000),
    });
  const orgId = await orgOfEvent(db, event);
  if (!orgId) return (await inTransaction(db, (tx) => claim(tx, null))) ? "processed" : "duplicate";

  const { outcome, alert } = await convergeWithStripe({
    db,
    orgId,
    read: () => readEventFacts({ db, stripe, orgId, event, logger }),
    apply: async (tx, facts, org) => {
      if (!(await claim(tx, orgId))) return { outcome: "duplicate" as const, alert: null };
      const alert = await applyEventFacts({ tx, facts, catalog, orgId, org, supportEmail, now, logger });
      return { outcome: "processed" as const, alert };
    },
  });
  if (alert) logger?.error(alert, CREDIT_PAYMENT_MISMATCH);
  return outcome;
}

async function readEventFacts({
  db,
  stripe,
  orgId,
  event,
  logger,
}: {
  db: Kysely<Schema>;
  stripe: StripeGateway;
  orgId: string;
  event: StripeEvent;
  logger?: Pick<Logger, "warn"> | undefined;
}): Promise<EventFacts> {
  const object = event.data.object;
  if (event.type === "charge.refunded" && object.id) {
    return { kind: "refund", charge: await stripe.retrieveCharge(object.id) };
  }
  if (checkoutEvents.has(event.type) && object.id) {
    const session = await stripe.retrieveCheckout(object.id);
    if (session.orgId !== orgId) {
      logger?.warn(
        { org_id: orgId, session: session.id },
        "checkout session belongs to another organization",
      );
      return { kind: "nothing" };
    }
    if (session.mode === "payment" && session.status === "complete") {
      return {
        kind: "credit_purchase",
        session: await readCreditPurchase({ stripe, orgId, sessionId: session.id }),
      };
    }
    if (session.mode !== "subscription" || session.status !== "complete")
      return { kind: "checkout", session };
    const subscriptions = await readSubscriptions({ db, stripe, orgId, customerId: session.customerId });
    return { kind: "checkout", session, subscriptions };
  }
  // An invoice without a subscription is a credit purchase: it never touches the plan.
  if (subscriptionEvents.has(event.type) || (invoiceEvents.has(event.type) && invoiceSubscription(event))) {
    return { kind: "subscription", subscriptions: await readSubscriptions({ db, stripe, orgId }) };
  }
  return { kind: "nothing" };
}

/** Writes what `readEventFacts` found; answers what to log once it commits, if anything. */
async function applyEventFacts({
  tx,
  facts,
  catalog,
  orgId,
  org,
  supportEmail,
  now,
  logger,
}: {
  tx: Kysely<Schema>;
  facts: EventFacts;
  catalog: Catalog;
  orgId: string;
  org: OrgRow | undefined;
  supportEmail: string;
  now: Date;
  logger?: Pick<Logger, "warn" | "error"> | undefined;
}): Promise<Record<string, unknown> | null> {
  switch (facts.kind) {
    case "refund":
      await takeBackRefund({ tx, orgId, charge: facts.charge, now, logger });
      return null;
    case "credit_purchase":
      // Granted once, whether this or the browser's return comes first. One paid for other
      // amounts than asked is held for support and answered like any other event, so Stripe
      // does not retry it for days.
      return (await recordCreditPurchase({ tx, catalog, orgId, session: facts.session, supportEmail, now }))
        .alert;
    case "checkout": {
      const { status } = facts.session;
      if (status === "complete" || status === "expired") {
        await closeCheckoutSession(tx, { orgId, sessionId: facts.session.id, status });
      }
      if (facts.subscriptions) {
        await applySubscriptions({ tx, read: facts.subscriptions, catalog, orgId, org, now, logger });
      }
      return null;
    }
    case "subscription":
      await applySubscriptions({ tx, read: facts.subscriptions, catalog, orgId, org, now, logger });
      return null;
    case "nothing":
      return null;
  }
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
