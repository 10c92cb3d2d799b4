import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { type Metadata, resourceMissing } from "./params.js";

/**
 * The emulator's whole state: plain records (our shape, not Stripe's; `objects.ts` renders them
 * as Stripe objects), kept in memory in creation order and written to one JSON file.
 */

export interface Address {
  city: string | null;
  country: string | null;
  line1: string | null;
  line2: string | null;
  postal_code: string | null;
  state: string | null;
}

export function addressWithCountry(country: string | null): Address {
  return { city: null, country, line1: null, line2: null, postal_code: null, state: null };
}

export interface Card {
  number: string;
  brand: string;
  last4: string;
  expMonth: number;
  expYear: number;
}

export interface CustomerRecord {
  id: string;
  created: number;
  email: string | null;
  name: string | null;
  description: string | null;
  phone: string | null;
  address: Address | null;
  metadata: Metadata;
  /** Stripe's sign: negative is credit the customer holds, applied to the next invoices. */
  balance: number;
  currency: string | null;
  invoicePrefix: string;
  nextInvoiceSequence: number;
  card: Card | null;
}

export interface ProductRecord {
  id: string;
  created: number;
  updated: number;
  name: string;
  description: string | null;
  active: boolean;
  metadata: Metadata;
  defaultPrice: string | null;
}

export type Interval = "month" | "year";

export interface PriceRecord {
  id: string;
  created: number;
  product: string;
  currency: string;
  unitAmount: number;
  interval: Interval | null;
  lookupKey: string | null;
  nickname: string | null;
  taxBehavior: "exclusive" | "inclusive" | "unspecified";
  metadata: Metadata;
  active: boolean;
}

export interface SessionLineItem {
  id: string;
  price: string;
  quantity: number;
  adjustable: { minimum: number; maximum: number } | null;
  amountTax: number;
}

export interface CheckoutSessionRecord {
  id: string;
  created: number;
  expiresAt: number;
  mode: "subscription" | "payment";
  status: "open" | "complete" | "expired";
  paymentStatus: "unpaid" | "paid";
  customer: string | null;
  customerEmail: string | null;
  /** Null when the session was created for an existing customer. */
  customerCreation: "always" | "if_required" | null;
  clientReferenceId: string | null;
  currency: string;
  lineItems: SessionLineItem[];
  successUrl: string | null;
  cancelUrl: string | null;
  metadata: Metadata;
  subscriptionMetadata: Metadata;
  /** `subscription_data[billing_mode][type]`, flexible when not given (absent in older data files). */
  subscriptionBillingMode?: BillingModeType;
  paymentIntentMetadata: Metadata;
  automaticTax: boolean;
  /** `customer_update[address]=auto`: the address Checkout collects is saved onto the customer. */
  saveAddress?: boolean;
  subscription: string | null;
  invoice: string | null;
  paymentIntent: string | null;
  amountSubtotal: number;
  amountTotal: number;
  amountTax: number;
  customerDetails: { email: string; country: string } | null;
}

export interface SubscriptionItemRecord {
  id: string;
  created: number;
  price: string;
  quantity: number;
  metadata: Metadata;
  /**
   * What was billed for this item's current period, at the rate of a whole period: what flexible
   * billing mode credits back for unused time. Absent in older data files.
   */
  billedAmount?: number;
}

/** How prorations are computed; Stripe defaults new subscriptions to flexible since 2025-09-30. */
export type BillingModeType = "classic" | "flexible";

export interface SubscriptionRecord {
  id: string;
  created: number;
  customer: string;
  status: "active" | "past_due" | "canceled";
  items: SubscriptionItemRecord[];
  currency: string;
  /** Every item shares one period: all prices of a subscription have the same interval. */
  periodStart: number;
  periodEnd: number;
  billingCycleAnchor: number;
  startDate: number;
  cancelAtPeriodEnd: boolean;
  cancelAt: number | null;
  canceledAt: number | null;
  endedAt: number | null;
  cancellationReason: "cancellation_requested" | "payment_failed" | null;
  latestInvoice: string | null;
  metadata: Metadata;
  automaticTax: boolean;
  /** Absent in data files written before billing modes existed: those subscriptions are classic. */
  billingMode?: { type: BillingModeType; updatedAt: number };
  /** Prorations under `create_prorations`, waiting for the next invoice. */
  pendingLines: InvoiceLineDraft[];
}

export interface InvoiceLineRecord {
  id: string;
  description: string;
  amount: number;
  amountTax: number;
  quantity: number;
  price: string;
  subscriptionItem: string | null;
  proration: boolean;
  periodStart: number;
  periodEnd: number;
}

/** An invoice line before its invoice exists: no id, no tax yet. */
export type InvoiceLineDraft = Omit<InvoiceLineRecord, "id" | "amountTax">;

export interface InvoiceRecord {
  id: string;
  created: number;
  number: string;
  customer: string;
  customerEmail: string | null;
  customerName: string | null;
  customerAddress: Address | null;
  subscription: string | null;
  billingReason: "subscription_create" | "subscription_cycle" | "subscription_update";
  currency: string;
  lines: InvoiceLineRecord[];
  subtotal: number;
  tax: number;
  total: number;
  startingBalance: number;
  endingBalance: number;
  amountDue: number;
  amountPaid: number;
  automaticTax: boolean;
  status: "open" | "paid";
  attemptCount: number;
  nextPaymentAttempt: number | null;
  paidAt: number | null;
  paymentIntent: string | null;
  periodStart: number;
  periodEnd: number;
}

export interface PaymentError {
  code: string;
  declineCode: string | null;
  message: string;
}

export interface PaymentIntentRecord {
  id: string;
  created: number;
  amount: number;
  currency: string;
  customer: string | null;
  description: string | null;
  metadata: Metadata;
  status: "succeeded" | "processing" | "requires_payment_method";
  clientSecret: string;
  latestCharge: string | null;
  lastPaymentError: PaymentError | null;
  receiptEmail: string | null;
}

export interface ChargeRecord {
  id: string;
  created: number;
  amount: number;
  amountRefunded: number;
  currency: string;
  customer: string | null;
  paymentIntent: string;
  description: string | null;
  metadata: Metadata;
  status: "succeeded" | "pending" | "failed";
  card: Omit<Card, "number">;
  failure: PaymentError | null;
  billingEmail: string | null;
  billingCountry: string | null;
}

export interface RefundRecord {
  id: string;
  created: number;
  amount: number;
  charge: string;
  paymentIntent: string;
  currency: string;
  reason: string | null;
  metadata: Metadata;
}

export interface PortalSessionRecord {
  id: string;
  created: number;
  customer: string;
  returnUrl: string | null;
  /** Absent in data files written before configurations existed. */
  configuration?: string;
}

export interface PortalConfigurationRecord {
  id: string;
  created: number;
  updated: number;
  active: boolean;
  name: string | null;
  defaultReturnUrl: string | null;
  businessProfile: {
    headline: string | null;
    privacyPolicyUrl: string | null;
    termsOfServiceUrl: string | null;
  };
  customerUpdate: { enabled: boolean; allowedUpdates: string[] };
  invoiceHistory: boolean;
  paymentMethodUpdate: boolean;
  subscriptionCancel: { enabled: boolean; mode: "at_period_end" | "immediately"; prorationBehavior: string };
  metadata: Metadata;
}

export interface TaxCalculationLine {
  id: string;
  amount: number;
  quantity: number;
  reference: string | null;
  amountTax: number;
}

export interface TaxCalculationRecord {
  id: string;
  created: number;
  expiresAt: number;
  currency: string;
  customer: string | null;
  country: string | null;
  addressSource: "billing" | "shipping";
  basisPoints: number;
  lines: TaxCalculationLine[];
}

export interface DeliveryAttempt {
  at: string;
  status: number | null;
  error: string | null;
  replay: boolean;
}

export interface EventRecord {
  id: string;
  created: number;
  type: string;
  object: Record<string, unknown>;
  previousAttributes: Record<string, unknown> | null;
  request: { id: string | null; idempotency_key: string | null };
  deliveries: DeliveryAttempt[];
  /** Delivered with a 2xx, or its retries exhausted, or there is no webhook endpoint. */
  settled: boolean;
}

export interface IdempotentResponse {
  key: string;
  fingerprint: string;
  status: number;
  body: unknown;
  /** Base-clock milliseconds: keys are forgotten after 24 hours, as at Stripe. */
  storedAt: number;
}

export class Collection<T extends { id: string }> {
  private readonly byId = new Map<string, T>();
  readonly kind: string;

  constructor(kind: string) {
    this.kind = kind;
  }

  get(id: string): T | undefined {
    return this.byId.get(id);
  }

  /** The record, or Stripe's 404 naming the parameter that held the id. */
  require(id: string, param = "id"): T {
    const record = this.byId.get(id);
    if (!record) throw resourceMissing(this.kind, id, param);
    return record;
  }

  insert(record: T): T {
    this.byId.set(record.id, record);
    return record;
  }

  /** Oldest first, the order records were created in. */
  all(): T[] {
    return [...this.byId.values()];
  }

  /** Stripe's list order. */
  newestFirst(): T[] {
    return this.all().reverse();
  }
}

const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

export class Store {
  clockOffsetSeconds = 0;
  readonly customers = new Collection<CustomerRecord>("customer");
  readonly products = new Collection<ProductRecord>("product");
  readonly prices = new Collection<PriceRecord>("price");
  readonly checkoutSessions = new Collection<CheckoutSessionRecord>("checkout.session");
  readonly subscriptions = new Collection<SubscriptionRecord>("subscription");
  readonly invoices = new Collection<InvoiceRecord>("invoice");
  readonly paymentIntents = new Collection<PaymentIntentRecord>("payment_intent");
  readonly charges = new Collection<ChargeRecord>("charge");
  readonly refunds = new Collection<RefundRecord>("refund");
  readonly portalSessions = new Collection<PortalSessionRecord>("billing_portal.session");
  readonly portalConfigurations = new Collection<PortalConfigurationRecord>("billing_portal.configuration");
  readonly taxCalculations = new Collection<TaxCalculationRecord>("tax.calculation");
  readonly events = new Collection<EventRecord>("event");
  readonly idempotency = new Map<string, IdempotentResponse>();

  private collections(): Record<string, Collection<{ id: string }>> {
    return {
      customers: this.customers,
      products: this.products,
      prices: this.prices,
      checkoutSessions: this.checkoutSessions,
      subscriptions: this.subscriptions,
      invoices: this.invoices,
      paymentIntents: this.paymentIntents,
      charges: this.charges,
      refunds: this.refunds,
      portalSessions: this.portalSessions,
      portalConfigurations: this.portalConfigurations,
      taxCalculations: this.taxCalculations,
      events: this.events,
    };
  }

  forgetIdempotencyKeys({ nowMs }: { nowMs: number }): void {
    for (const [key, entry] of this.idempotency) {
      if (nowMs - entry.storedAt > IDEMPOTENCY_TTL_MS) this.idempotency.delete(key);
    }
  }

  serialize(): string {
    const data: Record<string, unknown> = { version: 1, clockOffsetSeconds: this.clockOffsetSeconds };
    for (const [name, collection] of Object.entries(this.collections())) data[name] = collection.all();
    data.idempotency = [...this.idempotency.values()];
    return JSON.stringify(data);
  }

  static deserialize(text: string): Store {
    const data = JSON.parse(text) as Record<string, unknown>;
    if (data.version !== 1) throw new Error(`unsupported emulator data version: ${String(data.version)}`);
    const store = new Store();
    store.clockOffsetSeconds = typeof data.clockOffsetSeconds === "number" ? data.clockOffsetSeconds : 0;
    for (const [name, collection] of Object.entries(store.collections())) {
      const records = data[name];
      if (Array.isArray(records)) for (const record of records) collection.insert(record as { id: string });
    }
    if (Array.isArray(data.idempotency)) {
      for (const entry of data.idempotency as IdempotentResponse[]) store.idempotency.set(entry.key, entry);
    }
    return store;
  }
}

export function loadStore({ dataFile }: { dataFile: string | null }): Store {
  if (!dataFile) return new Store();
  if (!existsSync(dataFile)) {
    mkdirSync(path.dirname(dataFile), { recursive: true });
    return new Store();
  }
  return Store.deserialize(readFileSync(dataFile, "utf8"));
}

/** Temp file then rename, so a crash mid-write leaves the previous state whole. */
export function saveStore({ store, dataFile }: { store: Store; dataFile: string }): void {
  const temporary = `${dataFile}.${process.pid}.tmp`;
  writeFileSync(temporary, store.serialize());
  renameSync(temporary, dataFile);
}

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** A Stripe-looking id: the prefix and random base62 characters. */
export function newStripeId(prefix: string, length = 24): string {
  let id = prefix;
  for (const byte of randomBytes(length)) id += BASE62[byte % 62];
  return id;
}
