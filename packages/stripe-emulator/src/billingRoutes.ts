import { createCheckoutSession, expireCheckoutSession } from "./checkout.js";
import type { Context } from "./context.js";
import { listReply, objectReply } from "./listing.js";
import {
  renderCharge,
  renderCheckoutLineItem,
  renderCheckoutSession,
  renderEvent,
  renderInvoice,
  renderInvoiceLine,
  renderPaymentIntent,
  renderPortalSession,
  renderRefund,
  renderSubscription,
  renderSubscriptionItem,
  renderTaxCalculation,
  renderTaxCalculationLine,
} from "./objects.js";
import { applyMetadata, invalidRequest, type Params } from "./params.js";
import { refundCharge } from "./payments.js";
import { portalConfigurationFor } from "./portalConfigurations.js";
import type { Route } from "./server.js";
import { ADDRESS, LIST, type Shape } from "./shapes.js";
import { newStripeId, type TaxCalculationRecord } from "./store.js";
import { cancelSubscription, updateSubscription } from "./subscriptions.js";
import { basisPointsFor, taxOn } from "./tax.js";

const TAX_CALCULATION_LIFETIME_SECONDS = 90 * 24 * 60 * 60;

function id(path: Record<string, string>): string {
  return path.id ?? "";
}

/** A page of the items of one object, where Stripe has no cursor: ids are the items'. */
function itemsReply<T extends { id: string }>({
  context,
  input,
  items,
  created,
  render,
  url,
}: {
  context: Context;
  input: Params;
  items: T[];
  created: number;
  render: (item: T) => Record<string, unknown>;
  url: string;
}) {
  return listReply({ context, input, records: items.map((item) => ({ ...item, created })), render, url });
}

/** What Checkout Session creation accepts of Stripe's parameters: the part the emulator implements. */
const CHECKOUT_SESSION: Shape = {
  mode: true,
  customer: true,
  customer_email: true,
  customer_creation: true,
  customer_update: { address: true, name: true, shipping: true },
  client_reference_id: true,
  line_items: [
    {
      price: true,
      price_data: "any",
      quantity: true,
      adjustable_quantity: { enabled: true, minimum: true, maximum: true },
    },
  ],
  expires_at: true,
  success_url: true,
  cancel_url: true,
  metadata: "map",
  automatic_tax: { enabled: true },
  subscription_data: { metadata: "map", billing_mode: { type: true } },
  payment_intent_data: { metadata: "map" },
};

export const billingRoutes: Route[] = [
  {
    method: "POST",
    path: "/v1/checkout/sessions",
    params: CHECKOUT_SESSION,
    handle: ({ context, input }) =>
      objectReply({
        context,
        input,
        object: renderCheckoutSession(context, createCheckoutSession({ context, params: input })),
      }),
  },
  {
    method: "GET",
    path: "/v1/checkout/sessions/:id",
    params: {},
    handle: ({ context, input, path }) =>
      objectReply({
        context,
        input,
        object: renderCheckoutSession(context, context.store.checkoutSessions.require(id(path))),
      }),
  },
  {
    method: "POST",
    path: "/v1/checkout/sessions/:id/expire",
    params: {},
    handle: ({ context, input, path }) => {
      const session = expireCheckoutSession({
        context,
        session: context.store.checkoutSessions.require(id(path)),
      });
      return objectReply({ context, input, object: renderCheckoutSession(context, session) });
    },
  },
  {
    method: "GET",
    path: "/v1/checkout/sessions/:id/line_items",
    params: LIST,
    handle: ({ context, input, path }) => {
      const session = context.store.checkoutSessions.require(id(path));
      return itemsReply({
        context,
        input,
        items: session.lineItems,
        created: session.created,
        render: (item) => renderCheckoutLineItem({ store: context.store, session, item }),
        url: `/v1/checkout/sessions/${session.id}/line_items`,
      });
    },
  },
  {
    method: "GET",
    path: "/v1/checkout/sessions",
    params: { ...LIST, customer: true, status: true, payment_intent: true, subscription: true },
    handle: ({ context, input }) => {
      const customer = input.string("customer");
      const status = input.string("status");
      const paymentIntent = input.string("payment_intent");
      const subscription = input.string("subscription");
      return listReply({
        context,
        input,
        records: context.store.checkoutSessions
          .newestFirst()
          .filter(
            (session) =>
              (!customer || session.customer === customer) &&
              (!status || session.status === status) &&
              (!paymentIntent || session.paymentIntent === paymentIntent) &&
              (!subscription || session.subscription === subscription),
          ),
        render: (session) => renderCheckoutSession(context, session),
        url: "/v1/checkout/sessions",
      });
    },
  },
  {
    method: "GET",
    path: "/v1/subscriptions/:id",
    params: {},
    handle: ({ context, input, path }) =>
      objectReply({
        context,
        input,
        object: renderSubscription(context, context.store.subscriptions.require(id(path))),
      }),
  },
  {
    method: "POST",
    path: "/v1/subscriptions/:id",
    params: {
      items: [{ id: true, price: true, quantity: true, deleted: true, metadata: "map" }],
      cancel_at_period_end: true,
      proration_behavior: true,
      payment_behavior: true,
      metadata: "map",
    },
    handle: ({ context, input, path }) => {
      const subscription = updateSubscription({
        context,
        subscription: context.store.subscriptions.require(id(path)),
        params: input,
      });
      return objectReply({ context, input, object: renderSubscription(context, subscription) });
    },
  },
  {
    method: "DELETE",
    path: "/v1/subscriptions/:id",
    params: {},
    handle: ({ context, input, path }) => {
      const subscription = cancelSubscription({
        context,
        subscription: context.store.subscriptions.require(id(path)),
      });
      return objectReply({ context, input, object: renderSubscription(context, subscription) });
    },
  },
  {
    method: "GET",
    path: "/v1/subscriptions",
    params: { ...LIST, customer: true, price: true, status: true },
    handle: ({ context, input }) => {
      const customer = input.string("customer");
      const price = input.string("price");
      const status = input.string("status");
      return listReply({
        context,
        input,
        records: context.store.subscriptions
          .newestFirst()
          .filter(
            (subscription) =>
              (!customer || subscription.customer === customer) &&
              (!price || subscription.items.some((item) => item.price === price)) &&
              statusMatches({ status, actual: subscription.status }),
          ),
        render: (subscription) => renderSubscription(context, subscription),
        url: "/v1/subscriptions",
      });
    },
  },
  {
    method: "GET",
    path: "/v1/subscription_items",
    params: { ...LIST, subscription: true },
    handle: ({ context, input }) => {
      const subscription = context.store.subscriptions.require(
        input.requiredString("subscription"),
        "subscription",
      );
      return itemsReply({
        context,
        input,
        items: subscription.items,
        created: subscription.created,
        render: (item) => renderSubscriptionItem({ store: context.store, subscription, item }),
        url: "/v1/subscription_items",
      });
    },
  },
  {
    method: "GET",
    path: "/v1/subscription_items/:id",
    params: {},
    handle: ({ context, input, path }) => {
      for (const subscription of context.store.subscriptions.all()) {
        const item = subscription.items.find((candidate) => candidate.id === id(path));
        if (item)
          return objectReply({
            context,
            input,
            object: renderSubscriptionItem({ store: context.store, subscription, item }),
          });
      }
      throw invalidRequest(`No such subscription_item: '${id(path)}'`, "id", "resource_missing");
    },
  },
  {
    method: "GET",
    path: "/v1/invoices/:id",
    params: {},
    handle: ({ context, input, path }) =>
      objectReply({
        context,
        input,
        object: renderInvoice(context, context.store.invoices.require(id(path))),
      }),
  },
  {
    method: "GET",
    path: "/v1/invoices/:id/lines",
    params: LIST,
    handle: ({ context, input, path }) => {
      const invoice = context.store.invoices.require(id(path));
      return itemsReply({
        context,
        input,
        items: invoice.lines,
        created: invoice.created,
        render: (line) => renderInvoiceLine({ store: context.store, invoice, line }),
        url: `/v1/invoices/${invoice.id}/lines`,
      });
    },
  },
  {
    method: "GET",
    path: "/v1/invoices",
    params: { ...LIST, customer: true, subscription: true, status: true },
    handle: ({ context, input }) => {
      const customer = input.string("customer");
      const subscription = input.string("subscription");
      const status = input.string("status");
      return listReply({
        context,
        input,
        records: context.store.invoices
          .newestFirst()
          .filter(
            (invoice) =>
              (!customer || invoice.customer === customer) &&
              (!subscription || invoice.subscription === subscription) &&
              (!status || invoice.status === status),
          ),
        render: (invoice) => renderInvoice(context, invoice),
        url: "/v1/invoices",
      });
    },
  },
  {
    method: "GET",
    path: "/v1/payment_intents/:id",
    params: {},
    handle: ({ context, input, path }) =>
      objectReply({
        context,
        input,
        object: renderPaymentIntent(context.store.paymentIntents.require(id(path))),
      }),
  },
  {
    method: "GET",
    path: "/v1/payment_intents",
    params: { ...LIST, customer: true },
    handle: ({ context, input }) => {
      const customer = input.string("customer");
      return listReply({
        context,
        input,
        records: context.store.paymentIntents
          .newestFirst()
          .filter((intent) => !customer || intent.customer === customer),
        render: renderPaymentIntent,
        url: "/v1/payment_intents",
      });
    },
  },
  {
    method: "GET",
    path: "/v1/charges/:id",
    params: {},
    handle: ({ context, input, path }) =>
      objectReply({ context, input, object: renderCharge(context, context.store.charges.require(id(path))) }),
  },
  {
    method: "GET",
    path: "/v1/charges",
    params: { ...LIST, customer: true, payment_intent: true },
    handle: ({ context, input }) => {
      const customer = input.string("customer");
      const paymentIntent = input.string("payment_intent");
      return listReply({
        context,
        input,
        records: context.store.charges
          .newestFirst()
          .filter(
            (charge) =>
              (!customer || charge.customer === customer) &&
              (!paymentIntent || charge.paymentIntent === paymentIntent),
          ),
        render: (charge) => renderCharge(context, charge),
        url: "/v1/charges",
      });
    },
  },
  {
    method: "POST",
    path: "/v1/refunds",
    params: { charge: true, payment_intent: true, amount: true, reason: true, metadata: "map" },
    handle: ({ context, input }) => {
      const chargeId = input.string("charge");
      const paymentIntentId = input.string("payment_intent");
      if (!chargeId && !paymentIntentId) {
        throw invalidRequest(
          "One of the following params should be provided for this request: payment_intent or charge.",
        );
      }
      const latestCharge = paymentIntentId
        ? context.store.paymentIntents.require(paymentIntentId, "payment_intent").latestCharge
        : null;
      const chargeKey = chargeId ?? latestCharge;
      if (!chargeKey) throw invalidRequest("This PaymentIntent has no charge to refund.", "payment_intent");
      const refund = refundCharge({
        context,
        charge: context.store.charges.require(chargeKey, "charge"),
        amount: input.integer("amount"),
        reason: input.enumOf("reason", ["duplicate", "fraudulent", "requested_by_customer"] as const) ?? null,
        metadata: applyMetadata({ current: {}, update: input.metadataUpdate() }),
      });
      return objectReply({ context, input, object: renderRefund(refund) });
    },
  },
  {
    method: "GET",
    path: "/v1/refunds/:id",
    params: {},
    handle: ({ context, input, path }) =>
      objectReply({ context, input, object: renderRefund(context.store.refunds.require(id(path))) }),
  },
  {
    method: "GET",
    path: "/v1/refunds",
    params: { ...LIST, charge: true, payment_intent: true },
    handle: ({ context, input }) => {
      const charge = input.string("charge");
      const paymentIntent = input.string("payment_intent");
      return listReply({
        context,
        input,
        records: context.store.refunds
          .newestFirst()
          .filter(
            (refund) =>
              (!charge || refund.charge === charge) &&
              (!paymentIntent || refund.paymentIntent === paymentIntent),
          ),
        render: renderRefund,
        url: "/v1/refunds",
      });
    },
  },
  {
    method: "POST",
    path: "/v1/billing_portal/sessions",
    params: { customer: true, return_url: true, configuration: true },
    handle: ({ context, input }) => {
      const customer = context.store.customers.require(input.requiredString("customer"), "customer");
      const configuration = portalConfigurationFor({ context, input });
      const session = context.store.portalSessions.insert({
        id: newStripeId("bps_"),
        created: context.now(),
        customer: customer.id,
        returnUrl: input.url("return_url") ?? configuration.defaultReturnUrl,
        configuration: configuration.id,
      });
      return objectReply({ context, input, object: renderPortalSession(context, session) });
    },
  },
  {
    method: "POST",
    path: "/v1/tax/calculations",
    params: {
      currency: true,
      customer: true,
      customer_details: { address: ADDRESS, address_source: true },
      line_items: [{ amount: true, quantity: true, reference: true, tax_behavior: true }],
    },
    handle: ({ context, input }) =>
      objectReply({ context, input, object: renderTaxCalculation(createTaxCalculation({ context, input })) }),
  },
  {
    method: "GET",
    path: "/v1/tax/calculations/:id",
    params: {},
    handle: ({ context, input, path }) =>
      objectReply({
        context,
        input,
        object: renderTaxCalculation(context.store.taxCalculations.require(id(path))),
      }),
  },
  {
    method: "GET",
    path: "/v1/tax/calculations/:id/line_items",
    params: LIST,
    handle: ({ context, input, path }) => {
      const calculation = context.store.taxCalculations.require(id(path));
      return itemsReply({
        context,
        input,
        items: calculation.lines,
        created: calculation.created,
        render: renderTaxCalculationLine,
        url: `/v1/tax/calculations/${calculation.id}/line_items`,
      });
    },
  },
  {
    method: "GET",
    path: "/v1/events/:id",
    params: {},
    handle: ({ context, input, path }) =>
      objectReply({ context, input, object: renderEvent(context.store.events.require(id(path))) }),
  },
  {
    method: "GET",
    path: "/v1/events",
    params: { ...LIST, type: true, types: [true] },
    handle: ({ context, input }) => {
      const type = input.string("type");
      const types = input.strings("types");
      return listReply({
        context,
        input,
        records: context.store.events
          .newestFirst()
          .filter(
            (event) => (!type || matchesType(event.type, type)) && (!types || types.includes(event.type)),
          ),
        render: renderEvent,
        url: "/v1/events",
      });
    },
  },
];

/** Without a filter Stripe lists every subscription but the canceled ones; `ended` means canceled here. */
function statusMatches({ status, actual }: { status: string | undefined; actual: string }): boolean {
  if (status === "all") return true;
  if (status === undefined) return actual !== "canceled";
  return actual === (status === "ended" ? "canceled" : status);
}

/** Stripe's event type filter takes a trailing wildcard: `customer.subscription.*`. */
function matchesType(eventType: string, filter: string): boolean {
  return filter.endsWith(".*") ? eventType.startsWith(filter.slice(0, -1)) : eventType === filter;
}

/**
 * Stripe Tax, exclusive, from the EU standard VAT table: the country comes from
 * `customer_details[address][country]` or else the given customer's address.
 */
function createTaxCalculation({ context, input }: { context: Context; input: Params }): TaxCalculationRecord {
  const details = input.object("customer_details");
  const customerId = input.string("customer");
  const customer = customerId ? context.store.customers.require(customerId, "customer") : undefined;
  const country =
    details?.object("address")?.string("country")?.toUpperCase() ?? customer?.address?.country ?? null;
  if (!country) {
    throw invalidRequest(
      "A customer address with a country is required.",
      "customer_details[address][country]",
    );
  }
  const lines = input.list("line_items");
  if (!lines || lines.length === 0) throw invalidRequest("Missing required param: line_items.", "line_items");
  const now = context.now();
  return context.store.taxCalculations.insert({
    id: newStripeId("taxcalc_"),
    created: now,
    expiresAt: now + TAX_CALCULATION_LIFETIME_SECONDS,
    currency: input.requiredString("currency").toLowerCase(),
    customer: customer?.id ?? null,
    country,
    addressSource: details?.enumOf("address_source", ["billing", "shipping"] as const) ?? "billing",
    basisPoints: basisPointsFor(country),
    lines: lines.map((line) => {
      if (line.string("tax_behavior") === "inclusive") {
        throw invalidRequest("The emulator computes exclusive tax only.", line.name("tax_behavior"));
      }
      const amount = line.requiredInteger("amount");
      return {
        id: newStripeId("tax_li_", 14),
        amount,
        quantity: line.integer("quantity") ?? 1,
        reference: line.string("reference") ?? null,
        amountTax: taxOn({ amount, country }),
      };
    }),
  });
}
