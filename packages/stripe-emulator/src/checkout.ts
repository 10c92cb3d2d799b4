import { cardError, declineFor } from "./cards.js";
import type { Context } from "./context.js";
import { createCustomer } from "./customers.js";
import { changedAttributes, renderCheckoutSession, renderCustomer, renderSubscription } from "./objects.js";
import { invalidRequest, type Params } from "./params.js";
import {
  chargePaymentIntent,
  collectInvoice,
  createPaymentIntent,
  draftInvoice,
  emitInvoiceOutcome,
  emitPaymentEvents,
  issueInvoice,
  itemLine,
  settlePendingCharge,
} from "./payments.js";
import { periodBoundary } from "./periods.js";
import {
  addressWithCountry,
  type BillingModeType,
  type Card,
  type CheckoutSessionRecord,
  type CustomerRecord,
  newStripeId,
  type PriceRecord,
  type SessionLineItem,
} from "./store.js";
import { taxOn } from "./tax.js";

const SESSION_LIFETIME_SECONDS = 24 * 60 * 60;
const MIN_SESSION_LIFETIME_SECONDS = 30 * 60;
const DEFAULT_ADJUSTABLE_MAXIMUM = 99;

export function createCheckoutSession({
  context,
  params,
}: {
  context: Context;
  params: Params;
}): CheckoutSessionRecord {
  const now = context.now();
  const mode = params.enumOf("mode", ["subscription", "payment", "setup"] as const);
  if (!mode) throw invalidRequest("Missing required param: mode.", "mode", "parameter_missing");
  if (mode === "setup")
    throw invalidRequest("The emulator supports the subscription and payment modes.", "mode");
  const customer = params.string("customer");
  const customerEmail = params.string("customer_email");
  if (customer && customerEmail) {
    throw invalidRequest(
      "You may only specify one of these parameters: customer, customer_email.",
      "customer_email",
    );
  }
  const customerRecord = customer ? context.store.customers.require(customer, "customer") : null;
  const customerUpdate = readCustomerUpdate({ params, customer: customerRecord });
  const automaticTax = params.object("automatic_tax")?.boolean("enabled") ?? false;
  if (automaticTax && customerRecord && !hasTaxLocation(customerRecord) && !customerUpdate.collectsAddress) {
    throw invalidRequest(
      "Automatic tax needs the customer's location, and this customer has no address Stripe Tax can use (a country, and a postal code in the US and Canada). Give the customer such an address, or let Checkout collect and save one with customer_update[address]=auto (or customer_update[shipping]=auto).",
      "customer",
      "customer_tax_location_invalid",
    );
  }
  const lineItems = readLineItems({ context, params, mode, automaticTax });
  const billingMode = readBillingMode({ params, mode });
  const firstPrice = context.store.prices.require(lineItems[0]?.price ?? "");
  const expiresAt = params.integer("expires_at") ?? now + SESSION_LIFETIME_SECONDS;
  if (expiresAt < now + MIN_SESSION_LIFETIME_SECONDS || expiresAt > now + SESSION_LIFETIME_SECONDS) {
    throw invalidRequest("expires_at must be between 30 minutes and 24 hours from now.", "expires_at");
  }
  const subtotal = sessionSubtotal({ context, lineItems });
  return context.store.checkoutSessions.insert({
    id: newStripeId("cs_test_", 58),
    created: now,
    expiresAt,
    mode,
    status: "open",
    paymentStatus: "unpaid",
    customer: customer ?? null,
    customerEmail: customerEmail ?? null,
    customerCreation: customer
      ? null
      : mode === "subscription"
        ? "always"
        : (params.enumOf("customer_creation", ["always", "if_required"] as const) ?? "if_required"),
    clientReferenceId: params.string("client_reference_id") ?? null,
    currency: firstPrice.currency,
    lineItems,
    successUrl: params.url("success_url") ?? null,
    cancelUrl: params.url("cancel_url") ?? null,
    metadata: metadataOf(params),
    subscriptionMetadata: metadataOf(params.object("subscription_data")),
    subscriptionBillingMode: billingMode,
    paymentIntentMetadata: metadataOf(params.object("payment_intent_data")),
    automaticTax,
    saveAddress: customerUpdate.address === "auto",
    subscription: null,
    invoice: null,
    paymentIntent: null,
    amountSubtotal: subtotal,
    amountTotal: subtotal,
    amountTax: 0,
    customerDetails: null,
  });
}

/** Stripe Tax locates a customer by a country, and in the US and Canada by a postal code too. */
function hasTaxLocation(customer: CustomerRecord): boolean {
  const country = customer.address?.country;
  if (!country) return false;
  return !["US", "CA"].includes(country) || Boolean(customer.address?.postal_code);
}

/** `customer_update`: what Checkout saves back onto an existing customer; only with `customer`. */
function readCustomerUpdate({ params, customer }: { params: Params; customer: CustomerRecord | null }): {
  address: "auto" | "never";
  collectsAddress: boolean;
} {
  const update = params.object("customer_update");
  if (!update) return { address: "never", collectsAddress: false };
  if (!customer) {
    throw invalidRequest("customer_update can only be used with customer.", "customer_update");
  }
  const address = update.enumOf("address", ["auto", "never"] as const) ?? "never";
  update.enumOf("name", ["auto", "never"] as const);
  const shipping = update.enumOf("shipping", ["auto", "never"] as const) ?? "never";
  return { address, collectsAddress: address === "auto" || shipping === "auto" };
}

/** `subscription_data[billing_mode][type]`: flexible unless classic is asked for, as at Stripe. */
function readBillingMode({
  params,
  mode,
}: {
  params: Params;
  mode: "subscription" | "payment";
}): BillingModeType | undefined {
  const billingMode = params.object("subscription_data")?.object("billing_mode");
  if (mode !== "subscription") {
    if (billingMode) {
      throw invalidRequest(
        "subscription_data can only be used in subscription mode.",
        "subscription_data[billing_mode]",
      );
    }
    return undefined;
  }
  if (!billingMode) return "flexible";
  const type = billingMode.enumOf("type", ["classic", "flexible"] as const);
  if (!type)
    throw invalidRequest(
      "Missing required param: subscription_data[billing_mode][type].",
      "subscription_data[billing_mode][type]",
      "parameter_missing",
    );
  return type;
}

function metadataOf(params: Params | undefined): Record<string, string> {
  const update = params?.metadataUpdate() ?? {};
  return Object.fromEntries(
    Object.entries(update ?? {}).filter((entry): entry is [string, string] => entry[1] !== null),
  );
}

function readLineItems({
  context,
  params,
  mode,
  automaticTax,
}: {
  context: Context;
  params: Params;
  mode: "subscription" | "payment";
  automaticTax: boolean;
}): SessionLineItem[] {
  const items = params.list("line_items");
  if (!items || items.length === 0) {
    throw invalidRequest("Missing required param: line_items.", "line_items", "parameter_missing");
  }
  const prices: PriceRecord[] = [];
  const lineItems = items.map((item) => {
    if (item.has("price_data")) {
      throw invalidRequest("The emulator needs an existing price: pass `price`.", item.name("price_data"));
    }
    const price = context.store.prices.require(item.requiredString("price"), item.name("price"));
    if (!price.active) throw invalidRequest(`The price \`${price.id}\` is not active.`, item.name("price"));
    if (mode === "payment" && price.interval) {
      throw invalidRequest(
        "You must be in `subscription` mode to use recurring prices; this price is recurring.",
        item.name("price"),
      );
    }
    if (mode === "subscription" && !price.interval) {
      throw invalidRequest(
        "The emulator's subscription mode takes recurring prices only.",
        item.name("price"),
      );
    }
    if (automaticTax && price.taxBehavior === "unspecified") {
      // No default tax behavior can be set on the emulator's account, so the price must carry one.
      throw invalidRequest(
        `Automatic tax needs to know whether the price \`${price.id}\` includes tax: set its tax_behavior to exclusive or inclusive.`,
        item.name("price"),
      );
    }
    if (automaticTax && price.taxBehavior === "inclusive") {
      throw invalidRequest("The emulator computes exclusive tax only.", item.name("price"));
    }
    prices.push(price);
    const adjustable = item.object("adjustable_quantity");
    const bounds = adjustable?.boolean("enabled")
      ? {
          minimum: adjustable.integer("minimum") ?? 0,
          maximum: adjustable.integer("maximum") ?? DEFAULT_ADJUSTABLE_MAXIMUM,
        }
      : null;
    const quantity = item.integer("quantity") ?? 1;
    if (quantity < 0 || (bounds && (quantity < bounds.minimum || quantity > bounds.maximum))) {
      throw invalidRequest("The quantity is outside the adjustable range.", item.name("quantity"));
    }
    return { id: newStripeId("li_"), price: price.id, quantity, adjustable: bounds, amountTax: 0 };
  });
  const [first, ...rest] = prices;
  if (first && rest.some((price) => price.currency !== first.currency)) {
    throw invalidRequest("All line items must share one currency.", "line_items");
  }
  if (first && rest.some((price) => price.interval !== first.interval)) {
    throw invalidRequest("All recurring prices must share one billing interval.", "line_items");
  }
  return lineItems;
}

function sessionSubtotal({ context, lineItems }: { context: Context; lineItems: SessionLineItem[] }): number {
  return lineItems.reduce(
    (sum, item) => sum + context.store.prices.require(item.price).unitAmount * item.quantity,
    0,
  );
}

export interface CheckoutPayment {
  card: Card;
  email: string | null;
  country: string | null;
  /** Chosen quantities of adjustable line items, by line item id. */
  quantities: Record<string, number>;
  /** An asynchronous payment method (a bank debit) and how it turns out. */
  async: "succeeded" | "failed" | null;
  /**
   * Scripts only: the subtotal charged instead of the line items' sum, as a session tampered
   * with or a misconfigured price would make it; tax comes on top as usual.
   */
  amountSubtotal?: number;
}

/**
 * What a person paying on the hosted page does. A declined card leaves the session open and
 * throws Stripe's 402; success completes the session and emits its events in Stripe's order.
 */
export function payCheckoutSession({
  context,
  session,
  payment,
}: {
  context: Context;
  session: CheckoutSessionRecord;
  payment: CheckoutPayment;
}): CheckoutSessionRecord {
  if (session.status !== "open") {
    throw invalidRequest(
      session.status === "complete"
        ? "This Checkout Session is already complete."
        : "This Checkout Session has expired.",
      "id",
      "checkout_session_inactive",
    );
  }
  if (payment.async && session.mode !== "payment") {
    throw invalidRequest("The emulator takes asynchronous payments in payment mode only.", "async");
  }
  const customer = session.customer ? context.store.customers.require(session.customer) : null;
  const email = session.customerEmail ?? customer?.email ?? payment.email;
  if (!email) throw invalidRequest("An email address is required.", "email");
  const country = payment.country ?? customer?.address?.country ?? null;
  if (session.automaticTax && !country)
    throw invalidRequest("A country is required to compute tax.", "country");
  const lineItems = chosenLineItems({ session, quantities: payment.quantities });
  const failure = declineFor({ card: payment.card, offSession: false });
  if (failure) throw cardError(failure);

  session.lineItems = lineItems.map((item) => ({
    ...item,
    amountTax: session.automaticTax ? taxOn({ amount: lineAmount({ context, item }), country }) : 0,
  }));
  session.amountSubtotal =
    payment.amountSubtotal ?? sessionSubtotal({ context, lineItems: session.lineItems });
  session.amountTax = session.lineItems.reduce((sum, item) => sum + item.amountTax, 0);
  session.amountTotal = session.amountSubtotal + session.amountTax;
  session.customerDetails = { email, country: country ?? "US" };
  session.status = "complete";
  if (session.saveAddress && customer && country) saveAddress({ context, customer, country });
  if (session.mode === "subscription") {
    fulfilSubscription({ context, session, customer, payment, email, country });
  } else {
    fulfilPayment({ context, session, customer, payment, email, country });
  }
  return session;
}

/** `customer_update[address]=auto`: the address collected replaces the customer's, told by an event. */
function saveAddress({
  context,
  customer,
  country,
}: {
  context: Context;
  customer: CustomerRecord;
  country: string;
}): void {
  if (customer.address?.country === country) return;
  const before = renderCustomer(context, customer);
  customer.address = addressWithCountry(country);
  const after = renderCustomer(context, customer);
  context.emit({
    type: "customer.updated",
    object: after,
    previousAttributes: changedAttributes(before, after),
  });
}

function lineAmount({ context, item }: { context: Context; item: SessionLineItem }): number {
  return context.store.prices.require(item.price).unitAmount * item.quantity;
}

function chosenLineItems({
  session,
  quantities,
}: {
  session: CheckoutSessionRecord;
  quantities: Record<string, number>;
}): SessionLineItem[] {
  return session.lineItems.map((item, index) => {
    const chosen = quantities[item.id];
    if (chosen === undefined) return item;
    if (!item.adjustable)
      throw invalidRequest("This line item's quantity is not adjustable.", `quantity[${index}]`);
    if (!Number.isInteger(chosen) || chosen < item.adjustable.minimum || chosen > item.adjustable.maximum) {
      throw invalidRequest(
        `Quantity must be between ${item.adjustable.minimum} and ${item.adjustable.maximum}.`,
        `quantity[${index}]`,
      );
    }
    return { ...item, quantity: chosen };
  });
}

function fulfilSubscription({
  context,
  session,
  customer: existing,
  payment,
  email,
  country,
}: {
  context: Context;
  session: CheckoutSessionRecord;
  customer: CustomerRecord | null;
  payment: CheckoutPayment;
  email: string;
  country: string | null;
}): void {
  const at = context.now();
  const customer =
    existing ?? createCustomer({ context, email, address: country ? addressWithCountry(country) : null });
  customer.card = payment.card;
  if (!customer.address && country) customer.address = addressWithCountry(country);
  customer.currency ??= session.currency;
  const interval = context.store.prices.require(session.lineItems[0]?.price ?? "").interval ?? "month";
  const periodEnd = periodBoundary({ anchor: at, interval, count: 1 });
  const subscription = context.store.subscriptions.insert({
    id: newStripeId("sub_"),
    created: at,
    customer: customer.id,
    status: "active",
    items: session.lineItems.map((item) => ({
      id: newStripeId("si_", 14),
      created: at,
      price: item.price,
      quantity: item.quantity,
      metadata: {},
    })),
    currency: session.currency,
    periodStart: at,
    periodEnd,
    billingCycleAnchor: at,
    startDate: at,
    cancelAtPeriodEnd: false,
    cancelAt: null,
    canceledAt: null,
    endedAt: null,
    cancellationReason: null,
    latestInvoice: null,
    metadata: { ...session.subscriptionMetadata },
    automaticTax: session.automaticTax,
    billingMode: { type: session.subscriptionBillingMode ?? "flexible", updatedAt: at },
    pendingLines: [],
  });
  const draft = draftInvoice({
    customer,
    automaticTax: session.automaticTax,
    lines: subscription.items.map((item) => itemLine({ context, item, periodStart: at, periodEnd })),
  });
  const invoice = issueInvoice({
    context,
    customer,
    draft,
    subscription: subscription.id,
    billingReason: "subscription_create",
    automaticTax: session.automaticTax,
    periodStart: at,
    periodEnd: at,
    at,
  });
  const outcome = collectInvoice({ context, invoice, offSession: false, at });
  subscription.latestInvoice = invoice.id;
  session.customer = customer.id;
  session.subscription = subscription.id;
  session.invoice = invoice.id;
  session.paymentStatus = "paid";
  context.emit({ type: "customer.subscription.created", object: renderSubscription(context, subscription) });
  emitInvoiceOutcome({ context, invoice, outcome, at });
  context.emit({ type: "checkout.session.completed", object: renderCheckoutSession(context, session) });
}

function fulfilPayment({
  context,
  session,
  customer: existing,
  payment,
  email,
  country,
}: {
  context: Context;
  session: CheckoutSessionRecord;
  customer: CustomerRecord | null;
  payment: CheckoutPayment;
  email: string;
  country: string | null;
}): void {
  const at = context.now();
  const customer =
    existing ??
    (session.customerCreation === "always"
      ? createCustomer({ context, email, address: country ? addressWithCountry(country) : null })
      : null);
  session.customer = customer?.id ?? null;
  const paymentIntent = createPaymentIntent({
    context,
    amount: session.amountTotal,
    currency: session.currency,
    customer: customer?.id ?? null,
    description: null,
    metadata: session.paymentIntentMetadata,
    receiptEmail: email,
    at,
  });
  const charge = chargePaymentIntent({
    context,
    paymentIntent,
    card: payment.card,
    failure: null,
    pending: payment.async !== null,
    billing: { email, country },
    at,
  });
  session.paymentIntent = paymentIntent.id;
  session.paymentStatus = payment.async ? "unpaid" : "paid";
  context.emit({ type: "checkout.session.completed", object: renderCheckoutSession(context, session) });
  if (!payment.async) {
    emitPaymentEvents({ context, paymentIntent, charge });
    return;
  }
  const failure =
    payment.async === "failed"
      ? {
          code: "payment_intent_payment_attempt_failed",
          declineCode: null,
          message: "The bank debit failed.",
        }
      : null;
  settlePendingCharge({ charge, paymentIntent, failure });
  session.paymentStatus = failure ? "unpaid" : "paid";
  context.emit({
    type: failure ? "checkout.session.async_payment_failed" : "checkout.session.async_payment_succeeded",
    object: renderCheckoutSession(context, session),
  });
  emitPaymentEvents({ context, paymentIntent, charge });
}

export function expireCheckoutSession({
  context,
  session,
  at = context.now(),
}: {
  context: Context;
  session: CheckoutSessionRecord;
  at?: number;
}): CheckoutSessionRecord {
  if (session.status !== "open") {
    throw invalidRequest(
      `Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of "${session.status}".`,
      "session",
    );
  }
  session.status = "expired";
  context.emit({ type: "checkout.session.expired", object: renderCheckoutSession(context, session), at });
  return session;
}
