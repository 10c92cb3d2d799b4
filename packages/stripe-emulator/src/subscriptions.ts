import { cardError, declineFor } from "./cards.js";
import type { Context } from "./context.js";
import { changedAttributes, productNameOf, renderSubscription } from "./objects.js";
import { applyMetadata, invalidRequest, type Params } from "./params.js";
import {
  type CollectionOutcome,
  collectInvoice,
  draftInvoice,
  emitInvoiceOutcome,
  issueInvoice,
  itemLine,
} from "./payments.js";
import { boundaryAfter, periodBoundary, prorate } from "./periods.js";
import {
  type Interval,
  type InvoiceLineDraft,
  type InvoiceRecord,
  newStripeId,
  type SubscriptionItemRecord,
  type SubscriptionRecord,
} from "./store.js";

type ProrationBehavior = "create_prorations" | "always_invoice" | "none";

interface ItemChange {
  before: SubscriptionItemRecord | null;
  after: SubscriptionItemRecord | null;
}

interface BillingPlan {
  /** Lines charged now, or null when nothing is invoiced by this change. */
  invoiceLines: InvoiceLineDraft[] | null;
  pendingLines: InvoiceLineDraft[];
  /** A new billing period starting now (an interval change resets the cycle). */
  newPeriod: { start: number; end: number } | null;
}

function intervalOf({ context, items }: { context: Context; items: SubscriptionItemRecord[] }): Interval {
  return context.store.prices.require(items[0]?.price ?? "").interval ?? "month";
}

function hasOtherOpenInvoice({
  context,
  subscription,
  except,
}: {
  context: Context;
  subscription: SubscriptionRecord;
  except?: InvoiceRecord;
}): boolean {
  return context.store.invoices
    .all()
    .some(
      (invoice) =>
        invoice.subscription === subscription.id && invoice.status === "open" && invoice !== except,
    );
}

function emitUpdated({
  context,
  subscription,
  before,
  at,
}: {
  context: Context;
  subscription: SubscriptionRecord;
  before: Record<string, unknown>;
  at?: number;
}): void {
  const after = renderSubscription(context, subscription);
  const previousAttributes = changedAttributes(before, after);
  if (Object.keys(previousAttributes).length === 0) return;
  context.emit({
    type: "customer.subscription.updated",
    object: after,
    previousAttributes,
    ...(at === undefined ? {} : { at }),
  });
}

/**
 * `POST /v1/subscriptions/:id`: items (price, quantity, additions, deletions), cancel at period
 * end and metadata. A price or quantity change within the same interval is prorated on the
 * unused part of the period (always_invoice: charged now; create_prorations: added to the next
 * renewal; none: free); an interval change restarts the cycle now and charges the new price less
 * the unused part of the old. The subscription keeps its id throughout.
 */
export function updateSubscription({
  context,
  subscription,
  params,
}: {
  context: Context;
  subscription: SubscriptionRecord;
  params: Params;
}): SubscriptionRecord {
  const at = context.now();
  const itemParams = params.list("items");
  const cancelAtPeriodEnd = params.boolean("cancel_at_period_end");
  if (subscription.status === "canceled" && (itemParams || cancelAtPeriodEnd !== undefined)) {
    throw invalidRequest("A canceled subscription can only update its cancellation_details and metadata.");
  }
  const prorationBehavior =
    params.enumOf("proration_behavior", ["create_prorations", "always_invoice", "none"] as const) ??
    "create_prorations";
  const paymentBehavior = params.enumOf("payment_behavior", [
    "allow_incomplete",
    "error_if_incomplete",
    "pending_if_incomplete",
    "default_incomplete",
  ] as const);
  const metadata = params.metadataUpdate();
  const customer = context.store.customers.require(subscription.customer);

  const items = itemParams ? plannedItems({ context, subscription, itemParams, at }) : null;
  const billing =
    items && items.changes.length > 0
      ? planBilling({
          context,
          subscription,
          items: items.items,
          changes: items.changes,
          prorationBehavior,
          at,
        })
      : null;
  const draft = billing?.invoiceLines
    ? draftInvoice({
        customer,
        automaticTax: subscription.automaticTax,
        lines: [...billing.invoiceLines, ...subscription.pendingLines],
      })
    : null;
  if (draft && draft.amountDue > 0 && paymentBehavior === "error_if_incomplete") {
    // Refused before anything changes, as Stripe leaves the subscription untouched.
    const failure = declineFor({ card: customer.card, offSession: true });
    if (failure) throw cardError(failure);
  }

  const before = renderSubscription(context, subscription);
  if (items) subscription.items = items.items;
  if (billing?.newPeriod) {
    subscription.periodStart = billing.newPeriod.start;
    subscription.periodEnd = billing.newPeriod.end;
    subscription.billingCycleAnchor = billing.newPeriod.start;
  }
  if (billing) subscription.pendingLines.push(...billing.pendingLines);
  let invoiced: { invoice: InvoiceRecord; outcome: CollectionOutcome } | null = null;
  if (draft) {
    subscription.pendingLines = [];
    const invoice = issueInvoice({
      context,
      customer,
      draft,
      subscription: subscription.id,
      billingReason: "subscription_update",
      automaticTax: subscription.automaticTax,
      periodStart: at,
      periodEnd: at,
      at,
    });
    subscription.latestInvoice = invoice.id;
    const outcome = collectInvoice({ context, invoice, offSession: true, at });
    if (outcome === "failed") subscription.status = "past_due";
    invoiced = { invoice, outcome };
  }
  if (cancelAtPeriodEnd !== undefined) setCancelAtPeriodEnd({ subscription, cancel: cancelAtPeriodEnd, at });
  // A restarted cycle moves the end a pending cancellation waits for.
  if (subscription.cancelAtPeriodEnd) subscription.cancelAt = subscription.periodEnd;
  subscription.metadata = applyMetadata({ current: subscription.metadata, update: metadata });

  emitUpdated({ context, subscription, before });
  if (invoiced) emitInvoiceOutcome({ context, ...invoiced, at });
  return subscription;
}

export function setCancelAtPeriodEnd({
  subscription,
  cancel,
  at,
}: {
  subscription: SubscriptionRecord;
  cancel: boolean;
  at: number;
}): void {
  subscription.cancelAtPeriodEnd = cancel;
  subscription.cancelAt = cancel ? subscription.periodEnd : null;
  subscription.canceledAt = cancel ? at : null;
  subscription.cancellationReason = cancel ? "cancellation_requested" : null;
}

/** The portal's cancel and undo buttons: the same change as the API's `cancel_at_period_end`. */
export function requestCancelAtPeriodEnd({
  context,
  subscription,
  cancel,
}: {
  context: Context;
  subscription: SubscriptionRecord;
  cancel: boolean;
}): void {
  if (subscription.status === "canceled") return;
  const before = renderSubscription(context, subscription);
  setCancelAtPeriodEnd({ subscription, cancel, at: context.now() });
  emitUpdated({ context, subscription, before });
}

function plannedItems({
  context,
  subscription,
  itemParams,
  at,
}: {
  context: Context;
  subscription: SubscriptionRecord;
  itemParams: Params[];
  at: number;
}): { items: SubscriptionItemRecord[]; changes: ItemChange[] } {
  const items = subscription.items.map((item) => ({ ...item }));
  const changes: ItemChange[] = [];
  for (const itemParam of itemParams) {
    const priceId = itemParam.string("price");
    const price = priceId ? context.store.prices.require(priceId, itemParam.name("price")) : undefined;
    if (price && (!price.active || !price.interval || price.currency !== subscription.currency)) {
      throw invalidRequest(
        `The price ${price.id} must be active, recurring and in ${subscription.currency}.`,
        itemParam.name("price"),
      );
    }
    const quantity = itemParam.integer("quantity");
    if (quantity !== undefined && quantity < 0) {
      throw invalidRequest("Quantity must be 0 or more.", itemParam.name("quantity"));
    }
    const id = itemParam.string("id");
    if (!id) {
      if (!price) throw invalidRequest("Missing required param: price.", itemParam.name("price"));
      const added = {
        id: newStripeId("si_", 14),
        created: at,
        price: price.id,
        quantity: quantity ?? 1,
        metadata: {},
      };
      items.push(added);
      changes.push({ before: null, after: added });
      continue;
    }
    const index = items.findIndex((item) => item.id === id);
    const before = items[index];
    if (!before) {
      throw invalidRequest(
        `The subscription item ${id} does not belong to this subscription.`,
        itemParam.name("id"),
      );
    }
    if (itemParam.boolean("deleted")) {
      items.splice(index, 1);
      changes.push({ before, after: null });
      continue;
    }
    const after = {
      ...before,
      price: price?.id ?? before.price,
      quantity: quantity ?? before.quantity,
      metadata: applyMetadata({ current: before.metadata, update: itemParam.metadataUpdate() }),
    };
    items[index] = after;
    if (after.price !== before.price || after.quantity !== before.quantity) changes.push({ before, after });
  }
  if (items.length === 0) throw invalidRequest("A subscription needs at least one item.", "items");
  const intervals = new Set(items.map((item) => context.store.prices.require(item.price).interval));
  if (intervals.size > 1)
    throw invalidRequest("All prices of a subscription must share one interval.", "items");
  return { items, changes };
}

function planBilling({
  context,
  subscription,
  items,
  changes,
  prorationBehavior,
  at,
}: {
  context: Context;
  subscription: SubscriptionRecord;
  items: SubscriptionItemRecord[];
  changes: ItemChange[];
  prorationBehavior: ProrationBehavior;
  at: number;
}): BillingPlan {
  const oldInterval = intervalOf({ context, items: subscription.items });
  const newInterval = intervalOf({ context, items });
  if (oldInterval !== newInterval) {
    const end = periodBoundary({ anchor: at, interval: newInterval, count: 1 });
    const credits =
      prorationBehavior === "none"
        ? []
        : prorationLines({
            context,
            subscription,
            changes: subscription.items.map((item) => ({ before: item, after: null })),
            at,
          });
    return {
      invoiceLines: [
        ...credits,
        ...items.map((item) => itemLine({ context, item, periodStart: at, periodEnd: end })),
      ],
      pendingLines: [],
      newPeriod: { start: at, end },
    };
  }
  if (prorationBehavior === "none") return { invoiceLines: null, pendingLines: [], newPeriod: null };
  const lines = prorationLines({ context, subscription, changes, at });
  return prorationBehavior === "always_invoice"
    ? { invoiceLines: lines, pendingLines: [], newPeriod: null }
    : { invoiceLines: null, pendingLines: lines, newPeriod: null };
}

/**
 * A credit for the unused time of each replaced item and a charge for the remaining time of each
 * new one, each rounded half up to the cent.
 * Example: 1000 → 3000 cents a month with 15 of 30 days left: -500 and +1500, net 1000.
 * The billing modes differ in the credit: classic credits the replaced item's current price,
 * flexible what was billed for it this period. They part after a change made without
 * prorations: 1000 → 3000 with `none`, then → 5000 with 15 days left credits -1500 (classic)
 * or -500 (flexible, since 1000 was billed).
 */
function prorationLines({
  context,
  subscription,
  changes,
  at,
}: {
  context: Context;
  subscription: SubscriptionRecord;
  changes: ItemChange[];
  at: number;
}): InvoiceLineDraft[] {
  const whole = subscription.periodEnd - subscription.periodStart;
  const part = Math.max(0, Math.min(whole, subscription.periodEnd - at));
  const date = new Date(at * 1000).toISOString().slice(0, 10);
  const flexible = subscription.billingMode?.type === "flexible";
  const line = (item: SubscriptionItemRecord, sign: 1 | -1): InvoiceLineDraft => {
    const price = context.store.prices.require(item.price);
    const rate = price.unitAmount * item.quantity;
    // Classic credits unused time at the item's current price; flexible, at what was billed for it.
    const periodAmount = sign < 0 && flexible ? (item.billedAmount ?? rate) : rate;
    if (sign > 0) item.billedAmount = rate;
    const amount = prorate({ amount: periodAmount, part, whole });
    const label = `${item.quantity} × ${productNameOf(context.store, price.id)}`;
    return {
      description: `${sign < 0 ? "Unused time on" : "Remaining time on"} ${label} after ${date}`,
      amount: sign * amount,
      quantity: item.quantity,
      price: price.id,
      subscriptionItem: item.id,
      proration: true,
      periodStart: at,
      periodEnd: subscription.periodEnd,
    };
  };
  const lines: InvoiceLineDraft[] = [];
  for (const { before, after } of changes) {
    if (before) lines.push(line(before, -1));
    if (after) lines.push(line(after, 1));
  }
  return lines.filter((entry) => entry.amount !== 0);
}

/** `DELETE /v1/subscriptions/:id`: ends now; pending prorations are dropped. */
export function cancelSubscription({
  context,
  subscription,
}: {
  context: Context;
  subscription: SubscriptionRecord;
}): SubscriptionRecord {
  if (subscription.status === "canceled") {
    throw invalidRequest(`The subscription ${subscription.id} is already canceled.`, "subscription");
  }
  const at = context.now();
  subscription.status = "canceled";
  subscription.canceledAt = at;
  subscription.endedAt = at;
  subscription.cancellationReason = "cancellation_requested";
  subscription.pendingLines = [];
  context.emit({ type: "customer.subscription.deleted", object: renderSubscription(context, subscription) });
  return subscription;
}

/** A subscription set to cancel at period end reaches it. */
export function endSubscription({
  context,
  subscription,
  at,
}: {
  context: Context;
  subscription: SubscriptionRecord;
  at: number;
}): void {
  subscription.status = "canceled";
  subscription.endedAt = at;
  subscription.pendingLines = [];
  context.emit({
    type: "customer.subscription.deleted",
    object: renderSubscription(context, subscription),
    at,
  });
}

/**
 * A period ends: the next one starts, its invoice (with pending prorations) is charged to the
 * saved card off-session; a decline makes the subscription past_due and schedules a retry.
 */
export function renewSubscription({
  context,
  subscription,
  at,
}: {
  context: Context;
  subscription: SubscriptionRecord;
  at: number;
}): void {
  const before = renderSubscription(context, subscription);
  const customer = context.store.customers.require(subscription.customer);
  const interval = intervalOf({ context, items: subscription.items });
  const start = subscription.periodEnd;
  const end = boundaryAfter({ anchor: subscription.billingCycleAnchor, interval, after: start });
  const draft = draftInvoice({
    customer,
    automaticTax: subscription.automaticTax,
    lines: [
      ...subscription.items.map((item) => itemLine({ context, item, periodStart: start, periodEnd: end })),
      ...subscription.pendingLines,
    ],
  });
  // Stripe's invoice period for a renewal is the period that just ended.
  const invoice = issueInvoice({
    context,
    customer,
    draft,
    subscription: subscription.id,
    billingReason: "subscription_cycle",
    automaticTax: subscription.automaticTax,
    periodStart: subscription.periodStart,
    periodEnd: start,
    at,
  });
  subscription.pendingLines = [];
  subscription.periodStart = start;
  subscription.periodEnd = end;
  subscription.latestInvoice = invoice.id;
  const outcome = collectInvoice({ context, invoice, offSession: true, at });
  subscription.status =
    outcome === "paid" && !hasOtherOpenInvoice({ context, subscription }) ? "active" : "past_due";
  emitUpdated({ context, subscription, before, at });
  emitInvoiceOutcome({ context, invoice, outcome, at });
}

/** A scheduled retry of an unpaid renewal; the last failure cancels the subscription. */
export function retryInvoice({
  context,
  invoice,
  at,
}: {
  context: Context;
  invoice: InvoiceRecord;
  at: number;
}): void {
  const subscription = context.store.subscriptions.require(invoice.subscription ?? "");
  const before = renderSubscription(context, subscription);
  const outcome = collectInvoice({ context, invoice, offSession: true, at });
  if (outcome === "paid" && !hasOtherOpenInvoice({ context, subscription, except: invoice })) {
    subscription.status = "active";
  }
  const exhausted = outcome === "failed" && invoice.nextPaymentAttempt === null;
  if (exhausted) {
    subscription.status = "canceled";
    subscription.canceledAt = at;
    subscription.endedAt = at;
    subscription.cancellationReason = "payment_failed";
    subscription.pendingLines = [];
  }
  emitInvoiceOutcome({ context, invoice, outcome, at });
  if (exhausted) {
    context.emit({
      type: "customer.subscription.deleted",
      object: renderSubscription(context, subscription),
      at,
    });
  } else {
    emitUpdated({ context, subscription, before, at });
  }
}
