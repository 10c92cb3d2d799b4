import type Stripe from "stripe";
import type { Interval } from "../domain/catalog.js";
import type { StripeSubscriptionStatus } from "../domain/subscriptions.js";

// What Meterline reads of Stripe's objects, in its own terms, and the converters from the SDK's types.

/** A subscription as Meterline needs it, read from Stripe. */
export interface StripeSubscriptionFacts {
  id: string;
  customerId: string;
  status: StripeSubscriptionStatus;
  itemId: string;
  priceId: string;
  /** From the price's metadata, which `stripe sync` writes; null for a price Meterline didn't make. */
  plan: string | null;
  interval: Interval | null;
  currentPeriodStart: Date;
  currentPeriodEnd: Date;
  billingCycleAnchor: Date;
  cancelAtPeriodEnd: boolean;
  created: Date;
}

export interface StripePriceFacts {
  id: string;
  productId: string;
  unitAmountCents: number | null;
  currency: string;
  interval: Interval | null;
  active: boolean;
  /** Whether the amount includes tax; Meterline's prices are `exclusive`, tax added on top. */
  taxBehavior: string | null;
}

export interface CreditCheckoutFacts {
  id: string;
  orgId: string | null;
  mode: string;
  status: string | null;
  paymentStatus: string;
  purpose: string | null;
  currency: string | null;
  amountSubtotal: number | null;
  /** The number of credits bought: the quantity of the credit line. */
  quantity: number | null;
  unitAmount: number | null;
  paymentIntentId: string | null;
  amountTotal: number | null;
}

export interface ChargeFacts {
  id: string;
  paymentIntentId: string | null;
  customerId: string | null;
  amount: number;
  amountRefunded: number;
  currency: string;
}

export interface CheckoutSessionFacts {
  id: string;
  mode: string;
  status: string | null;
  paymentStatus: string;
  orgId: string | null;
  customerId: string | null;
  subscriptionId: string | null;
}

const subscriptionStatuses: readonly StripeSubscriptionStatus[] = [
  "incomplete",
  "incomplete_expired",
  "trialing",
  "active",
  "past_due",
  "canceled",
  "unpaid",
  "paused",
];

function statusOf(subscription: Stripe.Subscription): StripeSubscriptionStatus {
  const status = subscriptionStatuses.find((known) => known === subscription.status);
  if (!status)
    throw new Error(`Stripe subscription ${subscription.id} has unknown status ${subscription.status}`);
  return status;
}

/** The id of a Stripe reference, expanded or not. */
export function idOf(value: string | { id: string } | null | undefined): string | null {
  if (!value) return null;
  return typeof value === "string" ? value : value.id;
}

export function intervalOf(value: string | null | undefined): Interval | null {
  return value === "month" || value === "year" ? value : null;
}

export function priceFacts(price: Stripe.Price): StripePriceFacts {
  return {
    id: price.id,
    productId: idOf(price.product) ?? "",
    unitAmountCents: price.unit_amount,
    currency: price.currency,
    interval: intervalOf(price.recurring?.interval),
    active: price.active,
    taxBehavior: price.tax_behavior ?? null,
  };
}

export function subscriptionFacts(subscription: Stripe.Subscription): StripeSubscriptionFacts {
  const item = subscription.items.data[0];
  if (!item) throw new Error(`Stripe subscription ${subscription.id} has no items`);
  const seconds = (value: number) => new Date(value * 1000);
  return {
    id: subscription.id,
    customerId: idOf(subscription.customer) ?? "",
    status: statusOf(subscription),
    itemId: item.id,
    priceId: item.price.id,
    plan: item.price.metadata?.meterline_plan ?? null,
    interval:
      intervalOf(item.price.metadata?.meterline_interval) ?? intervalOf(item.price.recurring?.interval),
    currentPeriodStart: seconds(item.current_period_start),
    currentPeriodEnd: seconds(item.current_period_end),
    billingCycleAnchor: seconds(subscription.billing_cycle_anchor),
    cancelAtPeriodEnd: subscription.cancel_at_period_end,
    created: seconds(subscription.created),
  };
}

export function creditCheckoutFacts(session: Stripe.Checkout.Session): CreditCheckoutFacts {
  const line = session.line_items?.data[0];
  return {
    id: session.id,
    orgId: session.client_reference_id,
    mode: session.mode,
    status: session.status,
    paymentStatus: session.payment_status,
    purpose: session.metadata?.purpose ?? null,
    currency: session.currency,
    amountSubtotal: session.amount_subtotal,
    quantity: line?.quantity ?? null,
    unitAmount: line?.price?.unit_amount ?? null,
    paymentIntentId: idOf(session.payment_intent),
    amountTotal: session.amount_total,
  };
}

export function chargeFacts(charge: Stripe.Charge): ChargeFacts {
  return {
    id: charge.id,
    paymentIntentId: idOf(charge.payment_intent),
    customerId: idOf(charge.customer),
    amount: charge.amount,
    amountRefunded: charge.amount_refunded,
    currency: charge.currency,
  };
}

export function checkoutSessionFacts(session: Stripe.Checkout.Session): CheckoutSessionFacts {
  return {
    id: session.id,
    mode: session.mode,
    status: session.status,
    paymentStatus: session.payment_status,
    orgId: session.client_reference_id,
    customerId: idOf(session.customer),
    subscriptionId: idOf(session.subscription),
  };
}
