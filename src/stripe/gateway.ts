import Stripe from "stripe";
import type { Interval } from "../domain/catalog.js";
import { sha256Hex } from "../domain/sha256.js";
import {
  type ChargeFacts,
  type CheckoutSessionFacts,
  type CreditCheckoutFacts,
  chargeFacts,
  checkoutSessionFacts,
  creditCheckoutFacts,
  priceFacts,
  type StripePriceFacts,
  type StripeSubscriptionFacts,
  subscriptionFacts,
} from "./facts.js";
import {
  type PortalConfigurationSync,
  portalConfigurationFor,
  upsertPortalConfiguration,
} from "./portalConfiguration.js";
import { reach } from "./reach.js";

// Read where the gateway's callers have always found them.
export type {
  ChargeFacts,
  CheckoutSessionFacts,
  CreditCheckoutFacts,
  StripeSubscriptionFacts,
} from "./facts.js";
export { idOf } from "./facts.js";

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
        // Tax is added on top, as the credit estimate computes it; Stripe Tax needs it stated.
        tax_behavior: "exclusive",
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
    if (
      existing?.active &&
      existing.unitAmountCents === 100 &&
      existing.interval === null &&
      existing.taxBehavior === "exclusive"
    )
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
        tax_behavior: "exclusive",
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
    return this.#openCheckout(
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
        // Stripe Tax needs the buyer's location: Checkout asks for the address and saves it onto
        // the customer, whose address Meterline may not know.
        customer_update: { address: "auto" },
        success_url: successUrl,
        cancel_url: cancelUrl,
        metadata: { org_id: orgId, purpose: "credits" },
        payment_intent_data: { metadata: { org_id: orgId, purpose: "credits" } },
      },
      idempotencyKey,
    );
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
      return creditCheckoutFacts(session);
    });
  }

  async retrieveCharge(chargeId: string): Promise<ChargeFacts> {
    return reach(async () => {
      return chargeFacts(await this.sdk.charges.retrieve(chargeId));
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
      const details = {
        name,
        email,
        metadata: { org_id: orgId },
        ...(country ? { address: { country } } : {}),
      };
      const idempotencyKey = `customer-${orgId}-${sha256Hex(JSON.stringify(details)).slice(0, 16)}`;
      return (await this.sdk.customers.create(details, { idempotencyKey })).id;
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
    return this.#openCheckout(
      {
        mode: "subscription",
        customer: customerId,
        client_reference_id: orgId,
        line_items: [{ price: priceId, quantity: 1 }],
        success_url: successUrl,
        cancel_url: cancelUrl,
        metadata: { org_id: orgId, plan, interval },
        // Classic prorations, which Meterline's plan changes and their tests assume (ARCHITECTURE.md).
        subscription_data: { metadata: { org_id: orgId }, billing_mode: { type: "classic" } },
      },
      idempotencyKey,
    );
  }

  /** Creates a Checkout Session, answering its id and the page where the buyer pays. */
  async #openCheckout(params: Stripe.Checkout.SessionCreateParams, idempotencyKey: string) {
    return reach(async () => {
      const session = await this.sdk.checkout.sessions.create(params, { idempotencyKey });
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
      return checkoutSessionFacts(await this.sdk.checkout.sessions.retrieve(sessionId));
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

  /**
   * Creates the customer portal configuration Meterline uses, or brings the one it made up to
   * date: Stripe refuses portal sessions without one.
   */
  syncPortalConfiguration(): Promise<PortalConfigurationSync> {
    return reach(() => upsertPortalConfiguration(this.sdk));
  }

  async createPortalSession({
    customerId,
    returnUrl,
  }: {
    customerId: string;
    returnUrl: string;
  }): Promise<string> {
    return reach(async () => {
      const configuration = await portalConfigurationFor(this.sdk);
      const session = await this.sdk.billingPortal.sessions.create({
        configuration,
        customer: customerId,
        return_url: returnUrl,
      });
      return session.url;
    });
  }
}
