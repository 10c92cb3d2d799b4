import type { Context } from "./context.js";
import {
  checkoutLineItemList,
  renderCharge,
  renderCheckoutSession,
  renderCustomer,
  renderEvent,
  renderInvoice,
  renderPaymentIntent,
  renderPortalSession,
  renderPrice,
  renderProduct,
  renderRefund,
  renderSubscription,
  renderSubscriptionItem,
  renderTaxCalculation,
  type StripeObject,
  taxCalculationLineList,
} from "./objects.js";
import { invalidRequest, isRecord } from "./params.js";

/** Stripe refuses expansions deeper than four levels. */
const MAX_DEPTH = 4;

/** Any object by its id, as an expansion of an id field finds it. */
function renderById(context: Context, id: string): StripeObject | null {
  const { store } = context;
  const customer = store.customers.get(id);
  if (customer) return renderCustomer(context, customer);
  const product = store.products.get(id);
  if (product) return renderProduct(product);
  const price = store.prices.get(id);
  if (price) return renderPrice(price);
  const session = store.checkoutSessions.get(id);
  if (session) return renderCheckoutSession(context, session);
  const subscription = store.subscriptions.get(id);
  if (subscription) return renderSubscription(context, subscription);
  const invoice = store.invoices.get(id);
  if (invoice) return renderInvoice(context, invoice);
  const paymentIntent = store.paymentIntents.get(id);
  if (paymentIntent) return renderPaymentIntent(paymentIntent);
  const charge = store.charges.get(id);
  if (charge) return renderCharge(context, charge);
  const refund = store.refunds.get(id);
  if (refund) return renderRefund(refund);
  const portal = store.portalSessions.get(id);
  if (portal) return renderPortalSession(context, portal);
  const calculation = store.taxCalculations.get(id);
  if (calculation) return renderTaxCalculation(calculation);
  const event = store.events.get(id);
  if (event) return renderEvent(event);
  for (const owner of store.subscriptions.all()) {
    const item = owner.items.find((candidate) => candidate.id === id);
    if (item) return renderSubscriptionItem({ store, subscription: owner, item });
  }
  return null;
}

/** Fields Stripe leaves out unless expanded, by object type. */
function includable(context: Context, object: StripeObject, field: string): StripeObject | null {
  if (field !== "line_items" || typeof object.id !== "string") return null;
  if (object.object === "checkout.session") {
    const session = context.store.checkoutSessions.get(object.id);
    return session ? checkoutLineItemList(context, session) : null;
  }
  if (object.object === "tax.calculation") {
    const calculation = context.store.taxCalculations.get(object.id);
    return calculation ? taxCalculationLineList(calculation) : null;
  }
  return null;
}

/**
 * Applies `expand[]` paths such as `customer`, `line_items`, `data.product` (on a list) or
 * `items.data.price.product`: each id on the path is replaced by its object.
 */
export function expandObject({
  context,
  object,
  paths,
}: {
  context: Context;
  object: StripeObject;
  paths: string[];
}): StripeObject {
  for (const path of paths) {
    const segments = path.split(".");
    if (segments.length > MAX_DEPTH) {
      throw invalidRequest(
        `You cannot expand more than ${MAX_DEPTH} levels of a property: ${path}`,
        "expand",
      );
    }
    expandPath({ context, value: object, segments });
  }
  return object;
}

function expandPath({
  context,
  value,
  segments,
}: {
  context: Context;
  value: unknown;
  segments: string[];
}): void {
  const [field, ...rest] = segments;
  if (field === undefined || !isRecord(value)) return;
  if (value.object === "list" && field === "data" && Array.isArray(value.data)) {
    for (const element of value.data) expandPath({ context, value: element, segments: rest });
    return;
  }
  const current = value[field];
  if (typeof current === "string") {
    const expanded = renderById(context, current);
    if (expanded) value[field] = expanded;
  } else if (current === undefined) {
    // Stripe refuses a path that names no id field (an old API version's field, a typo).
    const included = includable(context, value, field);
    if (!included) throw invalidRequest(`This property cannot be expanded (${field}).`, "expand");
    value[field] = included;
  }
  if (rest.length > 0) expandPath({ context, value: value[field], segments: rest });
}
