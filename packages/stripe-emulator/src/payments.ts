import { declineFor } from "./cards.js";
import type { Context } from "./context.js";
import {
  changedAttributes,
  formatAmount,
  productNameOf,
  renderCharge,
  renderInvoice,
  renderPaymentIntent,
  renderRefund,
} from "./objects.js";
import { invalidRequest, type Metadata } from "./params.js";
import { RETRY_SPACING_SECONDS } from "./periods.js";
import {
  type Card,
  type ChargeRecord,
  type CustomerRecord,
  type InvoiceLineDraft,
  type InvoiceLineRecord,
  type InvoiceRecord,
  newStripeId,
  type PaymentError,
  type PaymentIntentRecord,
  type RefundRecord,
  type SubscriptionItemRecord,
} from "./store.js";
import { taxOn } from "./tax.js";

/** Charge attempts on an invoice before its subscription is canceled (Stripe's default retry schedule). */
export const MAX_PAYMENT_ATTEMPTS = 4;

export function createPaymentIntent({
  context,
  amount,
  currency,
  customer,
  description,
  metadata,
  receiptEmail,
  at,
}: {
  context: Context;
  amount: number;
  currency: string;
  customer: string | null;
  description: string | null;
  metadata: Metadata;
  receiptEmail: string | null;
  at: number;
}): PaymentIntentRecord {
  const id = newStripeId("pi_");
  return context.store.paymentIntents.insert({
    id,
    created: at,
    amount,
    currency,
    customer,
    description,
    metadata: { ...metadata },
    status: "requires_payment_method",
    clientSecret: `${id}_secret_${newStripeId("", 25)}`,
    latestCharge: null,
    lastPaymentError: null,
    receiptEmail,
  });
}

/**
 * One attempt of a card on a payment intent: a charge that succeeded, failed or (an asynchronous
 * payment method) is pending, and the intent's status to match.
 */
export function chargePaymentIntent({
  context,
  paymentIntent,
  card,
  failure,
  pending = false,
  billing,
  at,
}: {
  context: Context;
  paymentIntent: PaymentIntentRecord;
  card: Card;
  failure: PaymentError | null;
  pending?: boolean;
  billing: { email: string | null; country: string | null };
  at: number;
}): ChargeRecord {
  const { number: _number, ...cardDetails } = card;
  const charge = context.store.charges.insert({
    id: newStripeId("ch_"),
    created: at,
    amount: paymentIntent.amount,
    amountRefunded: 0,
    currency: paymentIntent.currency,
    customer: paymentIntent.customer,
    paymentIntent: paymentIntent.id,
    description: paymentIntent.description,
    metadata: { ...paymentIntent.metadata },
    status: failure ? "failed" : pending ? "pending" : "succeeded",
    card: cardDetails,
    failure,
    billingEmail: billing.email,
    billingCountry: billing.country,
  });
  paymentIntent.latestCharge = charge.id;
  paymentIntent.lastPaymentError = failure;
  paymentIntent.status = failure ? "requires_payment_method" : pending ? "processing" : "succeeded";
  return charge;
}

/** An asynchronous payment's outcome arrives: the pending charge and its intent settle. */
export function settlePendingCharge({
  charge,
  paymentIntent,
  failure,
}: {
  charge: ChargeRecord;
  paymentIntent: PaymentIntentRecord;
  failure: PaymentError | null;
}): void {
  charge.status = failure ? "failed" : "succeeded";
  charge.failure = failure;
  paymentIntent.status = failure ? "requires_payment_method" : "succeeded";
  paymentIntent.lastPaymentError = failure;
}

/** A subscription item's full price for a period, worded as Stripe words it: "2 × Pro (at 20.00 USD / month)". */
export function itemLine({
  context,
  item,
  periodStart,
  periodEnd,
}: {
  context: Context;
  item: SubscriptionItemRecord;
  periodStart: number;
  periodEnd: number;
}): InvoiceLineDraft {
  const price = context.store.prices.require(item.price);
  // The item is billed for this period: flexible billing mode credits this back for unused time.
  item.billedAmount = price.unitAmount * item.quantity;
  return {
    description: `${item.quantity} × ${productNameOf(context.store, price.id)} (at ${formatAmount({
      amount: price.unitAmount,
      currency: price.currency,
    })} / ${price.interval ?? "once"})`,
    amount: price.unitAmount * item.quantity,
    quantity: item.quantity,
    price: price.id,
    subscriptionItem: item.id,
    proration: false,
    periodStart,
    periodEnd,
  };
}

export interface InvoiceDraft {
  lines: InvoiceLineRecord[];
  subtotal: number;
  tax: number;
  total: number;
  startingBalance: number;
  endingBalance: number;
  amountDue: number;
}

/**
 * An invoice's amounts before anything is written, so a caller can refuse a change whose
 * payment would fail. Tax per line from the customer's country; the customer's credit balance
 * (negative) pays first, and a negative total becomes credit.
 * Example: total 2000, balance -500 → amount due 1500, ending balance 0; total -300 → due 0, ending -300.
 */
export function draftInvoice({
  customer,
  lines,
  automaticTax,
}: {
  customer: CustomerRecord;
  lines: InvoiceLineDraft[];
  automaticTax: boolean;
}): InvoiceDraft {
  const country = automaticTax ? (customer.address?.country ?? null) : null;
  const taxed = lines.map((line) => ({
    ...line,
    id: newStripeId("il_"),
    amountTax: taxOn({ amount: line.amount, country }),
  }));
  const subtotal = taxed.reduce((sum, line) => sum + line.amount, 0);
  const tax = taxed.reduce((sum, line) => sum + line.amountTax, 0);
  const total = subtotal + tax;
  const net = total + customer.balance;
  return {
    lines: taxed,
    subtotal,
    tax,
    total,
    startingBalance: customer.balance,
    endingBalance: Math.min(0, net),
    amountDue: Math.max(0, net),
  };
}

export function issueInvoice({
  context,
  customer,
  draft,
  subscription,
  billingReason,
  automaticTax,
  periodStart,
  periodEnd,
  at,
}: {
  context: Context;
  customer: CustomerRecord;
  draft: InvoiceDraft;
  subscription: string;
  billingReason: InvoiceRecord["billingReason"];
  automaticTax: boolean;
  periodStart: number;
  periodEnd: number;
  at: number;
}): InvoiceRecord {
  const sequence = customer.nextInvoiceSequence;
  customer.nextInvoiceSequence += 1;
  customer.balance = draft.endingBalance;
  return context.store.invoices.insert({
    id: newStripeId("in_"),
    created: at,
    number: `${customer.invoicePrefix}-${String(sequence).padStart(4, "0")}`,
    customer: customer.id,
    customerEmail: customer.email,
    customerName: customer.name,
    customerAddress: customer.address ? { ...customer.address } : null,
    subscription,
    billingReason,
    currency: context.store.subscriptions.get(subscription)?.currency ?? customer.currency ?? "usd",
    lines: draft.lines,
    subtotal: draft.subtotal,
    tax: draft.tax,
    total: draft.total,
    startingBalance: draft.startingBalance,
    endingBalance: draft.endingBalance,
    amountDue: draft.amountDue,
    amountPaid: 0,
    automaticTax,
    status: "open",
    attemptCount: 0,
    nextPaymentAttempt: null,
    paidAt: null,
    paymentIntent: null,
    periodStart,
    periodEnd,
  });
}

export type CollectionOutcome = "paid" | "failed";

/**
 * Charges an open invoice to the customer's saved card. A failed attempt schedules the next one
 * three days later, up to MAX_PAYMENT_ATTEMPTS; the caller decides what a last failure means.
 */
export function collectInvoice({
  context,
  invoice,
  offSession,
  at,
}: {
  context: Context;
  invoice: InvoiceRecord;
  offSession: boolean;
  at: number;
}): CollectionOutcome {
  invoice.attemptCount += 1;
  if (invoice.amountDue === 0) return markPaid({ invoice, at });
  const customer = context.store.customers.require(invoice.customer);
  const failure = declineFor({ card: customer.card, offSession });
  const paymentIntent =
    (invoice.paymentIntent ? context.store.paymentIntents.get(invoice.paymentIntent) : undefined) ??
    createPaymentIntent({
      context,
      amount: invoice.amountDue,
      currency: invoice.currency,
      customer: customer.id,
      description: invoiceDescription(invoice),
      metadata: {},
      receiptEmail: customer.email,
      at,
    });
  invoice.paymentIntent = paymentIntent.id;
  if (customer.card) {
    chargePaymentIntent({
      context,
      paymentIntent,
      card: customer.card,
      failure,
      billing: { email: customer.email, country: customer.address?.country ?? null },
      at,
    });
  }
  if (!failure) {
    invoice.amountPaid = invoice.amountDue;
    return markPaid({ invoice, at });
  }
  invoice.nextPaymentAttempt =
    invoice.attemptCount < MAX_PAYMENT_ATTEMPTS ? at + RETRY_SPACING_SECONDS : null;
  return "failed";
}

function markPaid({ invoice, at }: { invoice: InvoiceRecord; at: number }): CollectionOutcome {
  invoice.status = "paid";
  invoice.paidAt = at;
  invoice.nextPaymentAttempt = null;
  return "paid";
}

function invoiceDescription(invoice: InvoiceRecord): string {
  switch (invoice.billingReason) {
    case "subscription_create":
      return "Subscription creation";
    case "subscription_cycle":
      return "Subscription cycle";
    case "subscription_update":
      return "Subscription update";
  }
}

export function emitInvoiceOutcome({
  context,
  invoice,
  outcome,
  at,
}: {
  context: Context;
  invoice: InvoiceRecord;
  outcome: CollectionOutcome;
  at: number;
}): void {
  const types =
    outcome === "paid" ? ["invoice.paid", "invoice.payment_succeeded"] : ["invoice.payment_failed"];
  for (const type of types) context.emit({ type, object: renderInvoice(context, invoice), at });
}

/** A refund of part or all of what is left on a charge; the charge records it, as at Stripe. */
export function refundCharge({
  context,
  charge,
  amount,
  reason,
  metadata,
}: {
  context: Context;
  charge: ChargeRecord;
  amount: number | undefined;
  reason: string | null;
  metadata: Metadata;
}): RefundRecord {
  const unrefunded = charge.amount - charge.amountRefunded;
  if (charge.status !== "succeeded") {
    throw invalidRequest(`Charge ${charge.id} has not succeeded and cannot be refunded.`, "charge");
  }
  if (unrefunded === 0) {
    throw invalidRequest(
      `Charge ${charge.id} has already been refunded.`,
      "charge",
      "charge_already_refunded",
    );
  }
  const refundAmount = amount ?? unrefunded;
  if (refundAmount <= 0 || refundAmount > unrefunded) {
    throw invalidRequest(
      `Refund amount (${refundAmount}) is greater than unrefunded amount on charge (${unrefunded})`,
      "amount",
      "amount_too_large",
    );
  }
  const before = renderCharge(context, charge);
  const refund = context.store.refunds.insert({
    id: newStripeId("re_"),
    created: context.now(),
    amount: refundAmount,
    charge: charge.id,
    paymentIntent: charge.paymentIntent,
    currency: charge.currency,
    reason,
    metadata,
  });
  charge.amountRefunded += refundAmount;
  const after = renderCharge(context, charge);
  context.emit({
    type: "charge.refunded",
    object: after,
    previousAttributes: changedAttributes(before, after),
  });
  context.emit({ type: "refund.created", object: renderRefund(refund) });
  return refund;
}

export function emitPaymentEvents({
  context,
  paymentIntent,
  charge,
}: {
  context: Context;
  paymentIntent: PaymentIntentRecord;
  charge: ChargeRecord;
}): void {
  const succeeded = paymentIntent.status === "succeeded";
  context.emit({
    type: succeeded ? "payment_intent.succeeded" : "payment_intent.payment_failed",
    object: renderPaymentIntent(paymentIntent),
  });
  context.emit({
    type: succeeded ? "charge.succeeded" : "charge.failed",
    object: renderCharge(context, charge),
  });
}
