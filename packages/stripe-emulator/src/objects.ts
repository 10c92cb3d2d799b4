import { API_VERSION, type Context } from "./context.js";
import {
  type Address,
  addressWithCountry,
  type ChargeRecord,
  type CheckoutSessionRecord,
  type CustomerRecord,
  type EventRecord,
  type InvoiceLineRecord,
  type InvoiceRecord,
  type PaymentIntentRecord,
  type PortalSessionRecord,
  type PriceRecord,
  type ProductRecord,
  type RefundRecord,
  type SessionLineItem,
  type Store,
  type SubscriptionItemRecord,
  type SubscriptionRecord,
  type TaxCalculationLine,
  type TaxCalculationRecord,
} from "./store.js";
import { percentageDecimal } from "./tax.js";

/**
 * Records rendered as Stripe objects of API version 2026-10-28.endive: every key Stripe's own
 * fixtures carry is present (test/fixtures/stripeObjectKeys.json checks it), null or empty where
 * the emulator has nothing to say.
 */
export type StripeObject = Record<string, unknown>;

type Render = Pick<Context, "store" | "publicUrl">;

export const BUSINESS_NAME = "Meterline";

/**
 * Cents as the hosted pages and line descriptions show them: two decimals and the currency code.
 * Example: 37440 usd → "374.40 USD"; -505 eur → "-5.05 EUR".
 */
export function formatAmount({ amount, currency }: { amount: number; currency: string }): string {
  const sign = amount < 0 ? "-" : "";
  const cents = Math.abs(amount);
  return `${sign}${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, "0")} ${currency.toUpperCase()}`;
}

export function listObject({
  data,
  url,
  hasMore = false,
}: {
  data: unknown[];
  url: string;
  hasMore?: boolean;
}): StripeObject {
  return { object: "list", data, has_more: hasMore, url };
}

function renderAddress(address: Address | null): StripeObject | null {
  return address ? { ...address } : null;
}

function requireRecord<T>(record: T | undefined, what: string): T {
  if (record === undefined) throw new Error(`emulator state is missing ${what}`);
  return record;
}

export function renderCustomer({ store }: Render, customer: CustomerRecord): StripeObject {
  const delinquent = store.invoices
    .all()
    .some(
      (invoice) => invoice.customer === customer.id && invoice.status === "open" && invoice.attemptCount > 0,
    );
  return {
    id: customer.id,
    object: "customer",
    address: renderAddress(customer.address),
    balance: customer.balance,
    created: customer.created,
    currency: customer.currency,
    default_source: null,
    delinquent,
    description: customer.description,
    discount: null,
    email: customer.email,
    invoice_prefix: customer.invoicePrefix,
    invoice_settings: {
      custom_fields: null,
      default_payment_method: null,
      footer: null,
      rendering_options: null,
    },
    livemode: false,
    metadata: { ...customer.metadata },
    name: customer.name,
    next_invoice_sequence: customer.nextInvoiceSequence,
    phone: customer.phone,
    preferred_locales: [],
    shipping: null,
    tax_exempt: "none",
    test_clock: null,
  };
}

export function renderProduct(product: ProductRecord): StripeObject {
  return {
    id: product.id,
    object: "product",
    tax_details: null,
    active: product.active,
    created: product.created,
    default_price: product.defaultPrice,
    description: product.description,
    images: [],
    livemode: false,
    marketing_features: [],
    metadata: { ...product.metadata },
    name: product.name,
    package_dimensions: null,
    shippable: null,
    statement_descriptor: null,
    tax_code: null,
    type: "service",
    unit_label: null,
    updated: product.updated,
    url: null,
  };
}

export function renderPrice(price: PriceRecord): StripeObject {
  return {
    id: price.id,
    object: "price",
    active: price.active,
    billing_scheme: "per_unit",
    created: price.created,
    currency: price.currency,
    custom_unit_amount: null,
    livemode: false,
    lookup_key: price.lookupKey,
    metadata: { ...price.metadata },
    nickname: price.nickname,
    product: price.product,
    recurring: price.interval
      ? {
          interval: price.interval,
          interval_count: 1,
          meter: null,
          trial_period_days: null,
          usage_type: "licensed",
        }
      : null,
    tax_behavior: price.taxBehavior,
    tiers_mode: null,
    transform_quantity: null,
    type: price.interval ? "recurring" : "one_time",
    unit_amount: price.unitAmount,
    unit_amount_decimal: String(price.unitAmount),
  };
}

/** The deprecated `plan` Stripe still puts on subscription items, mirroring the price. */
function renderPlan(price: PriceRecord): StripeObject {
  return {
    id: price.id,
    object: "plan",
    active: price.active,
    amount: price.unitAmount,
    amount_decimal: String(price.unitAmount),
    billing_scheme: "per_unit",
    created: price.created,
    currency: price.currency,
    interval: price.interval,
    interval_count: 1,
    livemode: false,
    metadata: { ...price.metadata },
    meter: null,
    nickname: price.nickname,
    product: price.product,
    tiers_mode: null,
    transform_usage: null,
    trial_period_days: null,
    usage_type: "licensed",
  };
}

function priceOf(store: Store, id: string): PriceRecord {
  return requireRecord(store.prices.get(id), `price ${id}`);
}

export function productNameOf(store: Store, priceId: string): string {
  const price = priceOf(store, priceId);
  return store.products.get(price.product)?.name ?? price.product;
}

export function checkoutUrl({ publicUrl, id }: { publicUrl: string; id: string }): string {
  return `${publicUrl}/checkout/${id}`;
}

/** `line_items` is includable: only an expansion adds it. */
export function renderCheckoutSession({ publicUrl }: Render, session: CheckoutSessionRecord): StripeObject {
  const details = session.customerDetails;
  return {
    id: session.id,
    object: "checkout.session",
    allowed_payment_method_types: null,
    adaptive_pricing: null,
    after_expiration: null,
    allow_promotion_codes: null,
    amount_subtotal: session.amountSubtotal,
    amount_total: session.amountTotal,
    automatic_tax: {
      enabled: session.automaticTax,
      liability: session.automaticTax ? { type: "self" } : null,
      provider: session.automaticTax ? "stripe" : null,
      status: session.automaticTax ? (details ? "complete" : "requires_location_inputs") : null,
    },
    billing_address_collection: null,
    cancel_url: session.cancelUrl,
    client_reference_id: session.clientReferenceId,
    client_secret: null,
    collected_information: null,
    consent: null,
    consent_collection: null,
    created: session.created,
    currency: session.currency,
    currency_conversion: null,
    custom_fields: [],
    custom_text: {
      after_submit: null,
      shipping_address: null,
      submit: null,
      terms_of_service_acceptance: null,
    },
    customer: session.customer,
    customer_account: null,
    customer_creation: session.customerCreation,
    customer_details: details
      ? {
          address: addressWithCountry(details.country),
          business_name: null,
          email: details.email,
          individual_name: null,
          name: null,
          phone: null,
          tax_exempt: "none",
          tax_ids: [],
        }
      : null,
    customer_email: session.customerEmail,
    discounts: [],
    expires_at: session.expiresAt,
    integration_identifier: null,
    invoice: session.invoice,
    invoice_creation:
      session.mode === "payment"
        ? {
            enabled: false,
            invoice_data: {
              account_tax_ids: null,
              custom_fields: null,
              description: null,
              footer: null,
              issuer: null,
              metadata: {},
              rendering_options: null,
            },
          }
        : null,
    livemode: false,
    locale: null,
    managed_payments: null,
    metadata: { ...session.metadata },
    mode: session.mode,
    origin_context: null,
    payment_intent: session.paymentIntent,
    payment_link: null,
    payment_method_collection: session.mode === "subscription" ? "always" : null,
    payment_method_configuration_details: null,
    payment_method_options: {},
    payment_method_types: ["card"],
    payment_status: session.paymentStatus,
    permissions: null,
    phone_number_collection: { enabled: false },
    recovered_from: null,
    saved_payment_method_options: null,
    setup_intent: null,
    shipping_address_collection: null,
    shipping_cost: null,
    shipping_options: [],
    status: session.status,
    submit_type: null,
    subscription: session.subscription,
    success_url: session.successUrl,
    total_details: {
      amount_discount: 0,
      amount_shipping: 0,
      amount_tax: session.amountTax,
    },
    ui_mode: "hosted_page",
    url: session.status === "open" ? checkoutUrl({ publicUrl, id: session.id }) : null,
    wallet_options: null,
  };
}

export function renderCheckoutLineItem({
  store,
  session,
  item,
}: Pick<Render, "store"> & { session: CheckoutSessionRecord; item: SessionLineItem }): StripeObject {
  const price = priceOf(store, item.price);
  const subtotal = price.unitAmount * item.quantity;
  return {
    id: item.id,
    object: "item",
    adjustable_quantity: item.adjustable
      ? { enabled: true, maximum: item.adjustable.maximum, minimum: item.adjustable.minimum }
      : null,
    amount_discount: 0,
    amount_subtotal: subtotal,
    amount_tax: item.amountTax,
    amount_total: subtotal + item.amountTax,
    currency: session.currency,
    description: productNameOf(store, item.price),
    metadata: {},
    price: renderPrice(price),
    quantity: item.quantity,
  };
}

export function checkoutLineItemList(render: Render, session: CheckoutSessionRecord): StripeObject {
  return listObject({
    data: session.lineItems.map((item) => renderCheckoutLineItem({ store: render.store, session, item })),
    url: `/v1/checkout/sessions/${session.id}/line_items`,
  });
}

export function renderSubscriptionItem({
  store,
  subscription,
  item,
}: Pick<Render, "store"> & { subscription: SubscriptionRecord; item: SubscriptionItemRecord }): StripeObject {
  const price = priceOf(store, item.price);
  return {
    id: item.id,
    object: "subscription_item",
    current_trial: null,
    billing_thresholds: null,
    created: item.created,
    current_period_end: subscription.periodEnd,
    current_period_start: subscription.periodStart,
    discounts: [],
    metadata: { ...item.metadata },
    plan: renderPlan(price),
    price: renderPrice(price),
    quantity: item.quantity,
    subscription: subscription.id,
    tax_rates: [],
  };
}

function renderBillingMode(subscription: SubscriptionRecord): StripeObject {
  const mode = subscription.billingMode ?? { type: "classic", updatedAt: subscription.created };
  return {
    flexible: mode.type === "flexible" ? { proration_discounts: "included" } : null,
    type: mode.type,
    updated_at: mode.updatedAt,
  };
}

export function renderSubscription(render: Render, subscription: SubscriptionRecord): StripeObject {
  return {
    id: subscription.id,
    object: "subscription",
    application: null,
    application_fee_percent: null,
    automatic_tax: {
      disabled_reason: null,
      enabled: subscription.automaticTax,
      liability: subscription.automaticTax ? { type: "self" } : null,
    },
    billing_cycle_anchor: subscription.billingCycleAnchor,
    billing_cycle_anchor_config: null,
    billing_mode: renderBillingMode(subscription),
    billing_schedules: [],
    billing_thresholds: null,
    cancel_at: subscription.cancelAt,
    cancel_at_period_end: subscription.cancelAtPeriodEnd,
    canceled_at: subscription.canceledAt,
    cancellation_details: {
      comment: null,
      feedback: null,
      feedback_option: null,
      reason: subscription.cancellationReason,
    },
    collection_method: "charge_automatically",
    created: subscription.created,
    currency: subscription.currency,
    customer: subscription.customer,
    customer_account: null,
    days_until_due: null,
    default_payment_method: null,
    default_source: null,
    default_tax_rates: [],
    description: null,
    discounts: [],
    ended_at: subscription.endedAt,
    invoice_settings: {
      account_tax_ids: null,
      custom_fields: null,
      description: null,
      footer: null,
      issuer: { type: "self" },
    },
    items: listObject({
      data: subscription.items.map((item) =>
        renderSubscriptionItem({ store: render.store, subscription, item }),
      ),
      url: `/v1/subscription_items?subscription=${subscription.id}`,
    }),
    latest_invoice: subscription.latestInvoice,
    livemode: false,
    managed_payments: null,
    metadata: { ...subscription.metadata },
    next_pending_invoice_item_invoice: null,
    on_behalf_of: null,
    pause_collection: null,
    payment_settings: {
      payment_method_options: null,
      payment_method_types: null,
      save_default_payment_method: "off",
    },
    pending_invoice_item_interval: null,
    pending_setup_intent: null,
    pending_update: null,
    schedule: null,
    start_date: subscription.startDate,
    status: subscription.status,
    test_clock: null,
    transfer_data: null,
    trial_end: null,
    trial_settings: null,
    trial_start: null,
  };
}

export function renderInvoiceLine({
  store,
  invoice,
  line,
}: Pick<Render, "store"> & { invoice: InvoiceRecord; line: InvoiceLineRecord }): StripeObject {
  const price = priceOf(store, line.price);
  const subscription = invoice.subscription ? store.subscriptions.get(invoice.subscription) : undefined;
  return {
    id: line.id,
    object: "line_item",
    amount: line.amount,
    currency: invoice.currency,
    description: line.description,
    discount_amounts: [],
    discountable: !line.proration,
    discounts: [],
    invoice: invoice.id,
    livemode: false,
    metadata: subscription ? { ...subscription.metadata } : {},
    parent: {
      invoice_item_details: null,
      subscription_item_details: {
        invoice_item: null,
        proration: line.proration,
        proration_details: { credited_items: null },
        subscription: invoice.subscription,
        subscription_item: line.subscriptionItem,
      },
      type: "subscription_item_details",
    },
    period: { end: line.periodEnd, start: line.periodStart },
    pretax_credit_amounts: [],
    pricing: {
      price_details: { price: price.id, product: price.product },
      type: "price_details",
      unit_amount_decimal: String(price.unitAmount),
    },
    quantity: line.quantity,
    quantity_decimal: String(line.quantity),
    subscription: invoice.subscription,
    subtotal: line.amount,
    taxes:
      line.amountTax === 0
        ? []
        : [
            {
              amount: line.amountTax,
              tax_behavior: "exclusive",
              tax_rate_details: null,
              taxability_reason: "standard_rated",
              taxable_amount: line.amount,
              type: "tax_rate_details",
            },
          ],
  };
}

export function renderInvoice(render: Render, invoice: InvoiceRecord): StripeObject {
  const subscription = invoice.subscription
    ? render.store.subscriptions.get(invoice.subscription)
    : undefined;
  const amountRemaining = invoice.amountDue - invoice.amountPaid;
  return {
    id: invoice.id,
    object: "invoice",
    account_country: "US",
    account_name: BUSINESS_NAME,
    account_tax_ids: null,
    amount_due: invoice.amountDue,
    amount_overpaid: 0,
    amount_paid: invoice.amountPaid,
    amount_remaining: amountRemaining,
    amount_shipping: 0,
    application: null,
    attempt_count: invoice.attemptCount,
    attempted: invoice.attemptCount > 0,
    auto_advance: invoice.status === "open",
    automatic_tax: {
      disabled_reason: null,
      enabled: invoice.automaticTax,
      liability: invoice.automaticTax ? { type: "self" } : null,
      provider: invoice.automaticTax ? "stripe" : null,
      status: invoice.automaticTax ? "complete" : null,
    },
    automatically_finalizes_at: null,
    billing_reason: invoice.billingReason,
    collection_method: "charge_automatically",
    created: invoice.created,
    currency: invoice.currency,
    custom_fields: null,
    customer: invoice.customer,
    customer_account: null,
    customer_address: renderAddress(invoice.customerAddress),
    customer_email: invoice.customerEmail,
    customer_name: invoice.customerName,
    customer_phone: null,
    customer_shipping: null,
    customer_tax_exempt: "none",
    customer_tax_ids: [],
    default_payment_method: null,
    default_source: null,
    default_tax_rates: [],
    description: null,
    discounts: [],
    due_date: null,
    effective_at: invoice.created,
    ending_balance: invoice.endingBalance,
    footer: null,
    from_invoice: null,
    hosted_invoice_url: null,
    invoice_pdf: null,
    issuer: { type: "self" },
    last_finalization_error: null,
    latest_revision: null,
    lines: listObject({
      data: invoice.lines.map((line) => renderInvoiceLine({ store: render.store, invoice, line })),
      url: `/v1/invoices/${invoice.id}/lines`,
    }),
    livemode: false,
    metadata: {},
    next_payment_attempt: invoice.nextPaymentAttempt,
    number: invoice.number,
    on_behalf_of: null,
    parent: invoice.subscription
      ? {
          quote_details: null,
          subscription_details: {
            metadata: subscription ? { ...subscription.metadata } : {},
            subscription: invoice.subscription,
          },
          type: "subscription_details",
        }
      : null,
    payment_settings: { default_mandate: null, payment_method_options: null, payment_method_types: null },
    period_end: invoice.periodEnd,
    period_start: invoice.periodStart,
    post_payment_credit_notes_amount: 0,
    pre_payment_credit_notes_amount: 0,
    receipt_number: null,
    rendering: null,
    shipping_cost: null,
    shipping_details: null,
    starting_balance: invoice.startingBalance,
    statement_descriptor: null,
    status: invoice.status,
    status_transitions: {
      finalized_at: invoice.created,
      marked_uncollectible_at: null,
      paid_at: invoice.paidAt,
      voided_at: null,
    },
    // Removed from invoices in API version 2025-03-31: the link is `parent.subscription_details`.
    subscription: null,
    subtotal: invoice.subtotal,
    subtotal_excluding_tax: invoice.subtotal,
    test_clock: null,
    total: invoice.total,
    total_discount_amounts: [],
    total_excluding_tax: invoice.subtotal,
    total_pretax_credit_amounts: [],
    total_taxes:
      invoice.tax === 0
        ? []
        : [
            {
              amount: invoice.tax,
              tax_behavior: "exclusive",
              tax_rate_details: null,
              taxability_reason: "standard_rated",
              taxable_amount: invoice.subtotal,
              type: "tax_rate_details",
            },
          ],
    webhooks_delivered_at: invoice.created,
  };
}

export function renderPaymentIntent(paymentIntent: PaymentIntentRecord): StripeObject {
  const error = paymentIntent.lastPaymentError;
  return {
    id: paymentIntent.id,
    object: "payment_intent",
    allowed_payment_method_types: null,
    payment_record: null,
    amount: paymentIntent.amount,
    amount_capturable: 0,
    amount_details: { tip: {} },
    amount_received: paymentIntent.status === "succeeded" ? paymentIntent.amount : 0,
    application: null,
    application_fee_amount: null,
    automatic_payment_methods: null,
    canceled_at: null,
    cancellation_reason: null,
    capture_method: "automatic",
    client_secret: paymentIntent.clientSecret,
    confirmation_method: "automatic",
    created: paymentIntent.created,
    currency: paymentIntent.currency,
    customer: paymentIntent.customer,
    customer_account: null,
    description: paymentIntent.description,
    excluded_payment_method_types: null,
    last_payment_error: error
      ? {
          code: error.code,
          decline_code: error.declineCode,
          message: error.message,
          type: "card_error",
        }
      : null,
    latest_charge: paymentIntent.latestCharge,
    livemode: false,
    managed_payments: null,
    metadata: { ...paymentIntent.metadata },
    next_action: null,
    on_behalf_of: null,
    payment_method: null,
    payment_method_configuration_details: null,
    payment_method_options: {},
    payment_method_types: ["card"],
    processing: null,
    receipt_email: paymentIntent.receiptEmail,
    review: null,
    setup_future_usage: null,
    shipping: null,
    source: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: paymentIntent.status,
    transfer_data: null,
    transfer_group: null,
  };
}

export function renderCharge({ store }: Render, charge: ChargeRecord): StripeObject {
  const succeeded = charge.status === "succeeded";
  const refunds = store.refunds
    .newestFirst()
    .filter((refund) => refund.charge === charge.id)
    .map(renderRefund);
  return {
    id: charge.id,
    object: "charge",
    amount: charge.amount,
    amount_captured: succeeded ? charge.amount : 0,
    amount_refunded: charge.amountRefunded,
    application: null,
    application_fee: null,
    application_fee_amount: null,
    balance_transaction: null,
    billing_details: {
      address: addressWithCountry(charge.billingCountry),
      email: charge.billingEmail,
      name: null,
      phone: null,
      tax_id: null,
    },
    calculated_statement_descriptor: BUSINESS_NAME.toUpperCase(),
    captured: succeeded,
    created: charge.created,
    currency: charge.currency,
    customer: charge.customer,
    description: charge.description,
    disputed: false,
    failure_balance_transaction: null,
    failure_code: charge.failure?.code ?? null,
    failure_message: charge.failure?.message ?? null,
    fraud_details: {},
    livemode: false,
    metadata: { ...charge.metadata },
    on_behalf_of: null,
    outcome: {
      advice_code: null,
      network_advice_code: null,
      network_decline_code: null,
      network_status: charge.failure ? "declined_by_network" : "approved_by_network",
      reason: charge.failure?.declineCode ?? null,
      risk_level: "normal",
      seller_message: charge.failure
        ? "The bank did not return any further details with this decline."
        : "Payment complete.",
      type: charge.failure ? "issuer_declined" : "authorized",
    },
    paid: succeeded,
    payment_intent: charge.paymentIntent,
    payment_method: null,
    payment_method_details: {
      card: {
        amount_authorized: succeeded ? charge.amount : null,
        authorization_code: null,
        brand: charge.card.brand,
        checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: "pass" },
        country: "US",
        exp_month: charge.card.expMonth,
        exp_year: charge.card.expYear,
        extended_authorization: { status: "disabled" },
        electronic_commerce_indicator: null,
        fingerprint: null,
        funding: "credit",
        incremental_authorization: { status: "unavailable" },
        installments: null,
        last4: charge.card.last4,
        mandate: null,
        multicapture: { status: "unavailable" },
        network: charge.card.brand,
        network_token: { used: false },
        network_transaction_id: null,
        overcapture: { maximum_amount_capturable: charge.amount, status: "unavailable" },
        regulated_status: null,
        three_d_secure: null,
        transaction_link_id: null,
        wallet: null,
      },
      type: "card",
    },
    receipt_email: charge.billingEmail,
    receipt_number: null,
    receipt_url: null,
    refunded: charge.amountRefunded === charge.amount,
    refunds: listObject({ data: refunds, url: `/v1/charges/${charge.id}/refunds` }),
    review: null,
    shipping: null,
    source: null,
    source_transfer: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: charge.status,
    transfer_data: null,
    transfer_group: null,
  };
}

export function renderRefund(refund: RefundRecord): StripeObject {
  return {
    id: refund.id,
    object: "refund",
    amount: refund.amount,
    balance_transaction: null,
    charge: refund.charge,
    created: refund.created,
    currency: refund.currency,
    customer: null,
    customer_account: null,
    destination_details: {
      card: {
        reference: "74950000000000000000000",
        reference_status: "pending",
        reference_type: "acquirer_reference_number",
        type: "refund",
      },
      type: "card",
    },
    metadata: { ...refund.metadata },
    payment_intent: refund.paymentIntent,
    payment_method: null,
    reason: refund.reason,
    receipt_number: null,
    source_transfer_reversal: null,
    status: "succeeded",
    transfer_reversal: null,
  };
}

export function portalUrl({ publicUrl, id }: { publicUrl: string; id: string }): string {
  return `${publicUrl}/billing_portal/${id}`;
}

export function renderPortalSession({ publicUrl }: Render, session: PortalSessionRecord): StripeObject {
  return {
    id: session.id,
    object: "billing_portal.session",
    configuration: session.configuration ?? null,
    created: session.created,
    customer: session.customer,
    customer_account: null,
    flow: null,
    livemode: false,
    locale: null,
    on_behalf_of: null,
    return_url: session.returnUrl,
    url: portalUrl({ publicUrl, id: session.id }),
  };
}

export function renderTaxCalculationLine(line: TaxCalculationLine): StripeObject {
  return {
    id: line.id,
    object: "tax.calculation_line_item",
    amount: line.amount,
    amount_tax: line.amountTax,
    livemode: false,
    metadata: null,
    product: null,
    quantity: line.quantity,
    reference: line.reference,
    tax_behavior: "exclusive",
    tax_breakdown: null,
    tax_code: "txcd_10000000",
  };
}

export function taxCalculationLineList(calculation: TaxCalculationRecord): StripeObject {
  return listObject({
    data: calculation.lines.map(renderTaxCalculationLine),
    url: `/v1/tax/calculations/${calculation.id}/line_items`,
  });
}

export function renderTaxCalculation(calculation: TaxCalculationRecord): StripeObject {
  const taxable = calculation.lines.reduce((sum, line) => sum + line.amount, 0);
  const tax = calculation.lines.reduce((sum, line) => sum + line.amountTax, 0);
  const collecting = calculation.basisPoints > 0;
  return {
    id: calculation.id,
    object: "tax.calculation",
    amount_total: taxable + tax,
    currency: calculation.currency,
    customer: calculation.customer,
    customer_details: {
      address: addressWithCountry(calculation.country),
      address_source: calculation.addressSource,
      ip_address: null,
      tax_ids: [],
      taxability_override: "none",
    },
    expires_at: calculation.expiresAt,
    livemode: false,
    ship_from_details: null,
    shipping_cost: null,
    tax_amount_exclusive: tax,
    tax_amount_inclusive: 0,
    tax_breakdown: [
      {
        amount: tax,
        inclusive: false,
        tax_rate_details: {
          country: calculation.country,
          flat_amount: null,
          percentage_decimal: percentageDecimal(calculation.basisPoints),
          rate_type: "percentage",
          state: null,
          tax_type: collecting ? "vat" : null,
        },
        taxability_reason: collecting ? "standard_rated" : "not_collecting",
        taxable_amount: taxable,
      },
    ],
    tax_date: calculation.created,
  };
}

/**
 * Stripe's `previous_attributes`: the former value of each top-level field that changed.
 * Example: status active → past_due gives `{ status: "active" }`.
 */
export function changedAttributes(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
): Record<string, unknown> {
  const changed: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(before)) {
    if (JSON.stringify(value) !== JSON.stringify(after[key])) changed[key] = value;
  }
  return changed;
}

/** `pending_webhooks` is 1 until the delivery succeeds or gives up, 0 without an endpoint. */
export function renderEvent(event: EventRecord): StripeObject {
  return {
    id: event.id,
    object: "event",
    api_version: API_VERSION,
    created: event.created,
    data: event.previousAttributes
      ? { object: event.object, previous_attributes: event.previousAttributes }
      : { object: event.object },
    livemode: false,
    pending_webhooks: event.settled ? 0 : 1,
    request: { ...event.request },
    type: event.type,
  };
}
