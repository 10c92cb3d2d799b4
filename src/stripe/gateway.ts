import Stripe from "stripe";
import type { Interval } from "../domain/catalog.js";
import { AppError } from "../domain/errors.js";
import { sha256Hex } from "../domain/sha256.js";
import type { StripeSubscriptionStatus } from "../domain/subscriptions.js";

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

/**
 * Everything Meterline asks of Stripe, over the official SDK. The SDK reaches api.stripe.com, or
 * the local emulator when `apiUrl` is given: the code path is the same. Errors of reach become
 * `unavailable`; anything else Stripe refuses is a bug and is thrown as is.
 */
export class StripeGateway {
  readonly sdk: Stripe;

  constructor({ secretKey, apiUrl }: { secretKey: string; apiUrl?: string | undefined }) {
    const config: Stripe.StripeConfig = {
      maxNetworkRetries: 2,
      timeout: 30_000,
      appInfo: { name: "Meterline" },
    };
    if (apiUrl) {
      const url = new URL(apiUrl);
      config.protocol = url.protocol === "http:" ? "http" : "https";
      config.host = url.hostname;
      if (url.port) config.port = url.port;
    }
    this.sdk = new Stripe(secretKey, config);
  }

  /** Creates the product under our own id, or brings its name and description up to date. */
  async upsertProduct({
    id,
    name,
    description,
  }: {
    id: string;
    name: string;
    description: string;
  }): Promise<"created" | "updated" | "unchanged"> {
    return reach(async () => {
      const existing = await this.sdk.products.retrieve(id).catch((error: unknown) => {
        if (error instanceof Stripe.errors.StripeInvalidRequestError && error.statusCode === 404) return null;
        throw error;
      });
      if (!existing) {
        await this.sdk.products.create(
          { id, name, description },
          { idempotencyKey: `product-${id}-${name}` },
        );
        return "created";
      }
      if (existing.name === name && existing.description === description && existing.active)
        return "unchanged";
      await this.sdk.products.update(id, { name, description, active: true });
      return "updated";
    });
  }

  async priceByLookupKey(lookupKey: string): Promise<StripePriceFacts | null> {
    return reach(async () => {
      const prices = await this.sdk.prices.list({ lookup_keys: [lookupKey], limit: 1 });
      const price = prices.data[0];
      return price ? priceFacts(price) : null;
    });
  }

  /** A recurring price that takes the lookup key over from any older price holding it. */
  async createPlanPrice({
    productId,
    lookupKey,
    unitAmountCents,
    currency,
    interval,
    plan,
  }: {
    productId: string;
    lookupKey: string;
    unitAmountCents: number;
    currency: string;
    interval: Interval;
    plan: string;
  }): Promise<StripePriceFacts> {
    return reach(async () => {
      const price = await this.sdk.prices.create({
        product: productId,
        currency,
        unit_amount: unitAmountCents,
        recurring: { interval },
        lookup_key: lookupKey,
        transfer_lookup_key: true,
        nickname: `${plan} ${interval}ly`,
        metadata: { meterline_plan: plan, meterline_interval: interval },
      });
      return priceFacts(price);
    });
  }

  /** The one-time price of one credit (100 cents), made on first need and found by lookup key after. */
  async creditPrice({ currency }: { currency: string }): Promise<string> {
    const lookupKey = `meterline_credit_${currency}`;
    const existing = await this.priceByLookupKey(lookupKey);
    if (existing?.active && existing.unitAmountCents === 100 && existing.interval === null)
      return existing.id;
    await this.upsertProduct({
      id: "meterline_credits",
      name: "Meterline credits",
      description: "Prepaid credits that pay for usage beyond a plan's quotas; 1 credit = 1 USD",
    });
    return reach(async () => {
      const price = await this.sdk.prices.create({
        product: "meterline_credits",
        currency,
        unit_amount: 100,
        lookup_key: lookupKey,
        transfer_lookup_key: true,
        nickname: "1 credit",
        metadata: { meterline_purpose: "credits" },
      });
      return price.id;
    });
  }

  /** Checkout in payment mode for `credits` credits, which the buyer may still change there. */
  async createCreditCheckout({
    customerId,
    orgId,
    priceId,
    credits,
    maxCredits,
    successUrl,
    cancelUrl,
    idempotencyKey,
  }: {
    customerId: string;
    orgId: string;
    priceId: string;
    credits: number;
    maxCredits: number;
    successUrl: string;
    cancelUrl: string;
    /** Names this attempt: a retry of it gets the same session. */
    idempotencyKey: string;
  }): Promise<{ id: string; url: string }> {
    return reach(async () => {
      const session = await this.sdk.checkout.sessions.create(
        {
          mode: "payment",
          customer: customerId,
          client_reference_id: orgId,
          line_items: [
            {
              price: priceId,
              quantity: credits,
              adjustable_quantity: { enabled: true, minimum: 1, maximum: maxCredits },
            },
          ],
          automatic_tax: { enabled: true },
          success_url: successUrl,
          cancel_url: cancelUrl,
          metadata: { org_id: orgId, purpose: "credits" },
          payment_intent_data: { metadata: { org_id: orgId, purpose: "credits" } },
        },
        { idempotencyKey },
      );
      if (!session.url) throw new Error(`Stripe returned checkout session ${session.id} without a url`);
      return { id: session.id, url: session.url };
    });
  }

  /** The session, or null when Stripe has no such session. */
  async retrieveCreditCheckout(sessionId: string): Promise<CreditCheckoutFacts | null> {
    return reach(async () => {
      const session = await this.sdk.checkout.sessions
        .retrieve(sessionId, { expand: ["line_items"] })
        .catch((error: unknown) => {
          if (error instanceof Stripe.errors.StripeInvalidRequestError && error.statusCode === 404)
            return null;
          throw error;
        });
      if (!session) return null;
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
    });
  }

  async retrieveCharge(chargeId: string): Promise<ChargeFacts> {
    return reach(async () => {
      const charge = await this.sdk.charges.retrieve(chargeId);
      return {
        id: charge.id,
        paymentIntentId: idOf(charge.payment_intent),
        customerId: idOf(charge.customer),
        amount: charge.amount,
        amountRefunded: charge.amount_refunded,
        currency: charge.currency,
      };
    });
  }

  async deactivatePrice(priceId: string): Promise<void> {
    await reach(() => this.sdk.prices.update(priceId, { active: false }));
  }

  /**
   * One customer per organization: the idempotency key (the organization and the details sent)
   * makes a retried or raced create with the same details return the first customer.
   */
  async createCustomer({
    orgId,
    name,
    email,
    country,
  }: {
    orgId: string;
    name: string;
    email: string;
    country: string | null;
  }): Promise<string> {
    return reach(async () => {
      const customer = await this.sdk.customers.create(
        {
          name,
          email,
          metadata: { org_id: orgId },
          ...(country ? { address: { country } } : {}),
        },
        {
          idempotencyKey: `customer-${orgId}-${sha256Hex(JSON.stringify([name, email, country])).slice(0, 16)}`,
        },
      );
      return customer.id;
    });
  }

  async createSubscriptionCheckout({
    customerId,
    orgId,
    priceId,
    plan,
    interval,
    successUrl,
    cancelUrl,
    idempotencyKey,
  }: {
    customerId: string;
    orgId: string;
    priceId: string;
    plan: string;
    interval: Interval;
    successUrl: string;
    cancelUrl: string;
    /** Names this attempt: a retry of it gets the same session. */
    idempotencyKey: string;
  }): Promise<{ id: string; url: string }> {
    return reach(async () => {
      const session = await this.sdk.checkout.sessions.create(
        {
          mode: "subscription",
          customer: customerId,
          client_reference_id: orgId,
          line_items: [{ price: priceId, quantity: 1 }],
          success_url: successUrl,
          cancel_url: cancelUrl,
          metadata: { org_id: orgId, plan, interval },
          subscription_data: { metadata: { org_id: orgId } },
        },
        { idempotencyKey },
      );
      if (!session.url) throw new Error(`Stripe returned checkout session ${session.id} without a url`);
      return { id: session.id, url: session.url };
    });
  }

  /**
   * Expires a session still open and answers the session's status afterwards: "complete" when
   * it was paid first, even between our read and the expiry.
   */
  async expireCheckout(sessionId: string): Promise<string | null> {
    return reach(async () => {
      const session = await this.sdk.checkout.sessions.retrieve(sessionId);
      if (session.status !== "open") return session.status;
      try {
        return (await this.sdk.checkout.sessions.expire(sessionId)).status;
      } catch (error) {
        if (!(error instanceof Stripe.errors.StripeInvalidRequestError)) throw error;
        return (await this.sdk.checkout.sessions.retrieve(sessionId)).status;
      }
    });
  }

  async retrieveCheckout(sessionId: string): Promise<CheckoutSessionFacts> {
    return reach(async () => {
      const session = await this.sdk.checkout.sessions.retrieve(sessionId);
      return {
        id: session.id,
        mode: session.mode,
        status: session.status,
        paymentStatus: session.payment_status,
        orgId: session.client_reference_id,
        customerId: idOf(session.customer),
        subscriptionId: idOf(session.subscription),
      };
    });
  }

  async retrieveSubscription(subscriptionId: string): Promise<StripeSubscriptionFacts> {
    return reach(async () => subscriptionFacts(await this.sdk.subscriptions.retrieve(subscriptionId)));
  }

  /** Every subscription of the customer, in any state, newest first. */
  async listSubscriptions(customerId: string): Promise<StripeSubscriptionFacts[]> {
    return reach(async () => {
      const found: StripeSubscriptionFacts[] = [];
      for await (const subscription of this.sdk.subscriptions.list({
        customer: customerId,
        status: "all",
        limit: 100,
      })) {
        found.push(subscriptionFacts(subscription));
      }
      return found.sort((a, b) => b.created.getTime() - a.created.getTime());
    });
  }

  /**
   * Moves the one subscription to another price, prorated and invoiced now; its id stays. If the
   * proration cannot be paid, Stripe leaves the subscription as it was (`payment_failed`).
   */
  async changeSubscriptionPrice({
    subscriptionId,
    itemId,
    priceId,
  }: {
    subscriptionId: string;
    itemId: string;
    priceId: string;
  }): Promise<void> {
    await reach(() =>
      this.sdk.subscriptions.update(subscriptionId, {
        items: [{ id: itemId, price: priceId }],
        proration_behavior: "always_invoice",
        payment_behavior: "error_if_incomplete",
        cancel_at_period_end: false,
      }),
    );
  }

  async setCancelAtPeriodEnd({
    subscriptionId,
    cancel,
  }: {
    subscriptionId: string;
    cancel: boolean;
  }): Promise<void> {
    await reach(() => this.sdk.subscriptions.update(subscriptionId, { cancel_at_period_end: cancel }));
  }

  async createPortalSession({
    customerId,
    returnUrl,
  }: {
    customerId: string;
    returnUrl: string;
  }): Promise<string> {
    return reach(async () => {
      const session = await this.sdk.billingPortal.sessions.create({
        customer: customerId,
        return_url: returnUrl,
      });
      return session.url;
    });
  }
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

function intervalOf(value: string | null | undefined): Interval | null {
  return value === "month" || value === "year" ? value : null;
}

function priceFacts(price: Stripe.Price): StripePriceFacts {
  return {
    id: price.id,
    productId: idOf(price.product) ?? "",
    unitAmountCents: price.unit_amount,
    currency: price.currency,
    interval: intervalOf(price.recurring?.interval),
    active: price.active,
  };
}

function subscriptionFacts(subscription: Stripe.Subscription): StripeSubscriptionFacts {
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

/**
 * Stripe out of reach (network, timeouts, its own 5xx, rate limits) is a 503 the caller may
 * retry; a declined card is the customer's to fix. Any other refusal means Meterline asked
 * wrongly or is misconfigured (a bad key, a deleted customer): a 500, logged, never blamed on the
 * caller.
 */
async function reach<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof Stripe.errors.StripeError)) throw error;
    if (
      error instanceof Stripe.errors.StripeConnectionError ||
      error instanceof Stripe.errors.StripeAPIError ||
      error instanceof Stripe.errors.StripeRateLimitError
    ) {
      throw new AppError("unavailable", "Stripe could not be reached; try again");
    }
    if (error instanceof Stripe.errors.StripeCardError) {
      throw new AppError("payment_failed", `The payment failed: ${error.message}`);
    }
    throw new Error(
      `Stripe refused a request (${error.type}, ${error.code ?? "no code"}): ${error.message}`,
      {
        cause: error,
      },
    );
  }
}
