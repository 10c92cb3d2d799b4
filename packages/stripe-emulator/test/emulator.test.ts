import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import Stripe from "stripe";
import { afterEach, describe, expect, it } from "vitest";
import type { Clock } from "../src/clock.js";
import { type StripeEmulator, startStripeEmulator } from "../src/index.js";

const API_KEY = "sk_test_emulator_suite";
const WEBHOOK_SECRET = "whsec_emulator_suite";
const DAY = 86_400;
/** A fixed base time keeps periods and prorations exact: Jan 15 → Feb 15 is a 31-day period. */
const BASE = new Date("2026-01-15T12:00:00Z");
const START = BASE.getTime() / 1000;
const clock: Clock = { now: () => BASE };

const sdk = new Stripe(API_KEY);

function verifies({ raw, header }: { raw: string; header: string | undefined }): { ok: boolean } {
  try {
    sdk.webhooks.constructEvent(raw, header ?? "", WEBHOOK_SECRET, 300, undefined, START);
    return { ok: true };
  } catch {
    return { ok: false };
  }
}

const fixtureKeys = JSON.parse(
  readFileSync(new URL("./fixtures/stripeObjectKeys.json", import.meta.url), "utf8"),
) as Record<string, Record<string, string[]>>;

interface Received {
  raw: string;
  event: Stripe.Event;
  timestamp: number;
  verified: boolean;
  status: number;
}

async function startReceiver() {
  const received: Received[] = [];
  let respond: (event: Stripe.Event, attempt: number) => number = () => 200;
  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk);
    const raw = Buffer.concat(chunks).toString("utf8");
    const header = request.headers["stripe-signature"] as string | undefined;
    // The official SDK's own check, at the emulator's time: the deliveries are signed as Stripe signs.
    const check = verifies({ raw, header });
    const event = JSON.parse(raw) as Stripe.Event;
    const attempt = received.filter((entry) => entry.event.id === event.id).length + 1;
    const status = respond(event, attempt);
    received.push({
      raw,
      event,
      timestamp: Number(/t=(\d+)/.exec(header ?? "")?.[1]),
      verified: check.ok,
      status,
    });
    response.writeHead(status).end();
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/stripe`,
    received,
    respondWith(next: typeof respond) {
      respond = next;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

type Harness = Awaited<ReturnType<typeof startHarness>>;

async function startHarness({ dataFile }: { dataFile?: string } = {}) {
  const receiver = await startReceiver();
  const emulator: StripeEmulator = await startStripeEmulator({
    port: 0,
    apiKey: API_KEY,
    webhook: { url: receiver.url, secret: WEBHOOK_SECRET },
    clock,
    dataFile: dataFile ?? null,
    retry: { attempts: 3, initialDelayMs: 10 },
  });
  const stripe = new Stripe(API_KEY, { host: "localhost", port: emulator.port, protocol: "http" });
  const control = async (
    route: string,
    body?: unknown,
  ): Promise<{ status: number; body: Record<string, unknown> }> => {
    const response = await fetch(`${emulator.url}${route}`, {
      method: body === undefined ? "GET" : "POST",
      headers: { "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  /** Types of the events delivered so far, once deliveries are done; catalog set-up events left out. */
  const delivered = async () => {
    await emulator.idle();
    return receiver.received
      .filter((entry) => entry.status === 200 && !/^(product|price)\./.test(entry.event.type))
      .map((entry) => entry.event.type);
  };
  const close = async () => {
    await emulator.close();
    await receiver.close();
  };
  return { stripe, emulator, receiver, control, delivered, close };
}

let harness: Harness | null = null;
async function setUp(options?: { dataFile?: string }): Promise<Harness> {
  harness = await startHarness(options);
  return harness;
}

afterEach(async () => {
  await harness?.close();
  harness = null;
});

async function makePrice(
  stripe: Stripe,
  {
    name = "Pro",
    unitAmount,
    interval,
    currency = "usd",
    lookupKey,
  }: {
    name?: string;
    unitAmount: number;
    interval?: "month" | "year";
    currency?: string;
    lookupKey?: string;
  },
): Promise<Stripe.Price> {
  const product = await stripe.products.create({ name });
  return stripe.prices.create({
    product: product.id,
    currency,
    unit_amount: unitAmount,
    tax_behavior: "exclusive",
    ...(interval ? { recurring: { interval } } : {}),
    ...(lookupKey ? { lookup_key: lookupKey } : {}),
  });
}

function portalConfiguration(stripe: Stripe): Promise<Stripe.BillingPortal.Configuration> {
  return stripe.billingPortal.configurations.create({
    features: {
      subscription_cancel: { enabled: true, mode: "at_period_end" },
      payment_method_update: { enabled: true },
      invoice_history: { enabled: true },
    },
  });
}

async function subscribe(
  { stripe, control }: Harness,
  {
    price,
    card = "4242424242424242",
    email = "ada@example.com",
    country = "US",
    automaticTax = false,
  }: { price: string; card?: string; email?: string; country?: string; automaticTax?: boolean },
) {
  const session = await stripe.checkout.sessions.create({
    mode: "subscription",
    customer_email: email,
    client_reference_id: "org_1",
    line_items: [{ price, quantity: 1 }],
    success_url: "https://app.example/billing?session={CHECKOUT_SESSION_ID}",
    cancel_url: "https://app.example/billing",
    metadata: { org_id: "org_1" },
    subscription_data: { metadata: { org_id: "org_1" } },
    automatic_tax: { enabled: automaticTax },
  });
  const paid = await control(`/_emulator/checkout/sessions/${session.id}/pay`, { card, country });
  expect(paid.status).toBe(200);
  const subscription = await stripe.subscriptions.retrieve(paid.body.subscription as string);
  return { session: paid.body as unknown as Stripe.Checkout.Session, subscription };
}

function invoiceSubscription(invoice: Stripe.Invoice): string | null {
  const link = invoice.parent?.subscription_details?.subscription;
  return typeof link === "string" ? link : (link?.id ?? null);
}

/** Every key of Stripe's fixture is on the object, and on each nested object the emulator fills. */
function expectFixtureKeys(resource: string, object: unknown): void {
  const lists = fixtureKeys[resource];
  expect(lists, `fixture key list for ${resource}`).toBeDefined();
  for (const [keyPath, keys] of Object.entries(lists ?? {})) {
    const values = valuesAt(object, keyPath);
    expect(values.length, `${resource} ${keyPath || "(top)"}`).toBeGreaterThan(0);
    for (const value of values) {
      expect(value, `${resource} ${keyPath}`).toBeTypeOf("object");
      expect(value, `${resource} ${keyPath}`).not.toBeNull();
      const missing = keys.filter((key) => !(key in (value as object)));
      expect(missing, `${resource} ${keyPath || "(top)"} misses keys`).toEqual([]);
    }
  }
}

function valuesAt(object: unknown, keyPath: string): unknown[] {
  if (keyPath === "") return [object];
  let values: unknown[] = [object];
  for (const part of keyPath.split(".")) {
    const each = part.endsWith("[]");
    const key = each ? part.slice(0, -2) : part;
    values = values.flatMap((value) => {
      const next = (value as Record<string, unknown>)[key];
      return each ? (Array.isArray(next) ? next : []) : [next];
    });
  }
  return values;
}

describe("Stripe emulator through the official SDK", () => {
  it("subscribes: pay a session, then the subscription, invoice and signed events in Stripe's order", async () => {
    const h = await setUp();
    const price = await makePrice(h.stripe, { unitAmount: 2900, interval: "month" });
    const { session, subscription } = await subscribe(h, { price: price.id });

    expect(session).toMatchObject({
      status: "complete",
      payment_status: "paid",
      mode: "subscription",
      client_reference_id: "org_1",
      amount_subtotal: 2900,
      amount_total: 2900,
      total_details: { amount_tax: 0 },
      customer_details: { email: "ada@example.com", address: { country: "US" } },
      metadata: { org_id: "org_1" },
    });
    expect(subscription).toMatchObject({
      id: session.subscription,
      customer: session.customer,
      status: "active",
      metadata: { org_id: "org_1" },
      start_date: START,
      billing_cycle_anchor: START,
      latest_invoice: session.invoice,
    });
    const [item] = subscription.items.data;
    expect(item).toMatchObject({ price: { id: price.id }, quantity: 1, current_period_start: START });
    expect(new Date((item?.current_period_end ?? 0) * 1000).toISOString()).toBe("2026-02-15T12:00:00.000Z");

    const invoice = await h.stripe.invoices.retrieve(session.invoice as string);
    expect(invoice).toMatchObject({
      status: "paid",
      billing_reason: "subscription_create",
      amount_paid: 2900,
    });
    expect(invoiceSubscription(invoice)).toBe(subscription.id);

    expect(await h.delivered()).toEqual([
      "customer.created",
      "customer.subscription.created",
      "invoice.paid",
      "invoice.payment_succeeded",
      "checkout.session.completed",
    ]);
    for (const entry of h.receiver.received) {
      expect(entry.verified).toBe(true);
      expect(entry.timestamp).toBe(START);
      expect(entry.event).toMatchObject({
        object: "event",
        api_version: "2026-10-28.endive",
        livemode: false,
      });
    }
    const completed = h.receiver.received.at(-1)?.event;
    expect(completed?.data.object).toMatchObject({ id: session.id, subscription: subscription.id });
  });

  it("declines card 4000000000000002: 402 card_error, session still open, no events", async () => {
    const h = await setUp();
    const price = await makePrice(h.stripe, { unitAmount: 2900, interval: "month" });
    const session = await h.stripe.checkout.sessions.create({
      mode: "subscription",
      customer_email: "ada@example.com",
      line_items: [{ price: price.id, quantity: 1 }],
      success_url: "https://app.example/ok",
    });
    const declined = await h.control(`/_emulator/checkout/sessions/${session.id}/pay`, {
      card: "4000000000000002",
    });
    expect(declined.status).toBe(402);
    expect(declined.body.error).toMatchObject({
      type: "card_error",
      code: "card_declined",
      decline_code: "generic_decline",
    });
    const invalid = await h.control(`/_emulator/checkout/sessions/${session.id}/pay`, {
      card: "4242424242424241",
    });
    expect(invalid.body.error).toMatchObject({ type: "card_error", code: "incorrect_number" });
    expect((await h.stripe.checkout.sessions.retrieve(session.id)).status).toBe("open");
    expect(await h.delivered()).toEqual([]);
  });

  it("sells credits in payment mode with an adjustable quantity and FR VAT", async () => {
    const h = await setUp();
    const price = await makePrice(h.stripe, { name: "Credits", unitAmount: 1000, currency: "eur" });
    const session = await h.stripe.checkout.sessions.create({
      mode: "payment",
      line_items: [
        { price: price.id, quantity: 1, adjustable_quantity: { enabled: true, minimum: 1, maximum: 500 } },
      ],
      success_url: "https://app.example/credits?session={CHECKOUT_SESSION_ID}",
      payment_intent_data: { metadata: { org_id: "org_1" } },
      automatic_tax: { enabled: true },
    });
    const outOfRange = await h.control(`/_emulator/checkout/sessions/${session.id}/pay`, {
      card: "4242424242424242",
      quantity: 501,
      email: "ada@example.com",
      country: "FR",
    });
    expect(outOfRange.status).toBe(400);
    const paid = await h.control(`/_emulator/checkout/sessions/${session.id}/pay`, {
      card: "4242424242424242",
      quantity: 12,
      email: "ada@example.com",
      country: "FR",
    });
    expect(paid.body).toMatchObject({
      status: "complete",
      payment_status: "paid",
      amount_subtotal: 12_000,
      amount_total: 14_400,
      total_details: { amount_tax: 2400 },
      customer: null,
      customer_details: { email: "ada@example.com", address: { country: "FR" } },
    });
    const lineItems = await h.stripe.checkout.sessions.listLineItems(session.id);
    expect(lineItems.data[0]).toMatchObject({
      quantity: 12,
      amount_subtotal: 12_000,
      amount_tax: 2400,
      amount_total: 14_400,
    });
    const intent = await h.stripe.paymentIntents.retrieve(paid.body.payment_intent as string);
    expect(intent).toMatchObject({
      status: "succeeded",
      amount: 14_400,
      currency: "eur",
      metadata: { org_id: "org_1" },
    });
    const charge = await h.stripe.charges.retrieve(intent.latest_charge as string);
    expect(charge).toMatchObject({ paid: true, amount: 14_400, payment_intent: intent.id });
    expect(await h.delivered()).toEqual([
      "checkout.session.completed",
      "payment_intent.succeeded",
      "charge.succeeded",
    ]);

    const calculation = await h.stripe.tax.calculations.create({
      currency: "eur",
      line_items: [{ amount: 12_000, reference: "credits" }],
      customer_details: { address: { country: "FR" }, address_source: "billing" },
    });
    expect(calculation).toMatchObject({ amount_total: 14_400, tax_amount_exclusive: 2400 });
    expect(calculation.tax_breakdown[0]?.tax_rate_details?.percentage_decimal).toBe("20.0");
  });

  it("completes asynchronous payments later, paid or not", async () => {
    const h = await setUp();
    const price = await makePrice(h.stripe, { name: "Credits", unitAmount: 500 });
    const pay = async (outcome: "succeeded" | "failed") => {
      const session = await h.stripe.checkout.sessions.create({
        mode: "payment",
        customer_email: "ada@example.com",
        line_items: [{ price: price.id, quantity: 2 }],
        success_url: "https://app.example/ok",
      });
      return h.control(`/_emulator/checkout/sessions/${session.id}/pay`, {
        card: "4242424242424242",
        async: outcome,
      });
    };
    expect((await pay("succeeded")).body.payment_status).toBe("paid");
    expect((await pay("failed")).body.payment_status).toBe("unpaid");
    await h.emulator.idle();
    const sessions = h.receiver.received
      .filter((entry) => entry.event.type.startsWith("checkout.session"))
      .map((entry) => [
        entry.event.type,
        (entry.event.data.object as Stripe.Checkout.Session).payment_status,
      ]);
    expect(sessions).toEqual([
      ["checkout.session.completed", "unpaid"],
      ["checkout.session.async_payment_succeeded", "paid"],
      ["checkout.session.completed", "unpaid"],
      ["checkout.session.async_payment_failed", "unpaid"],
    ]);
  });

  it("prorates a price change: always_invoice now, create_prorations at renewal, one subscription id", async () => {
    const h = await setUp();
    const basic = await makePrice(h.stripe, { name: "Basic", unitAmount: 1000, interval: "month" });
    const pro = await makePrice(h.stripe, { name: "Pro", unitAmount: 3000, interval: "month" });
    const { subscription } = await subscribe(h, { price: basic.id });
    const itemId = subscription.items.data[0]?.id ?? "";
    await h.control("/_emulator/clock/advance", { seconds: 15 * DAY });

    // 16 of 31 days left: -round(1000 × 16/31) = -516, +round(3000 × 16/31) = 1548.
    const upgraded = await h.stripe.subscriptions.update(subscription.id, {
      items: [{ id: itemId, price: pro.id }],
      proration_behavior: "always_invoice",
    });
    expect(upgraded.id).toBe(subscription.id);
    expect(upgraded.items.data).toHaveLength(1);
    expect(upgraded.items.data[0]).toMatchObject({ id: itemId, price: { id: pro.id } });
    const invoice = await h.stripe.invoices.retrieve(upgraded.latest_invoice as string);
    expect(invoice).toMatchObject({
      billing_reason: "subscription_update",
      status: "paid",
      total: 1032,
      amount_paid: 1032,
    });
    expect(invoice.lines.data.map((line) => line.amount)).toEqual([-516, 1548]);
    await h.emulator.idle();
    const updated = h.receiver.received.find(
      (entry) => entry.event.type === "customer.subscription.updated",
    )?.event;
    expect(updated?.data.previous_attributes).toHaveProperty("items");
    expect((await h.delivered()).slice(-3)).toEqual([
      "customer.subscription.updated",
      "invoice.paid",
      "invoice.payment_succeeded",
    ]);

    // Back down, prorations pending: -1548 + 516 = -1032 join the renewal invoice of 1000.
    await h.stripe.subscriptions.update(subscription.id, {
      items: [{ id: itemId, price: basic.id }],
      proration_behavior: "create_prorations",
    });
    expect((await h.stripe.invoices.list({ subscription: subscription.id })).data).toHaveLength(2);
    await h.control("/_emulator/clock/advance", { seconds: 16 * DAY });
    const renewal = await h.stripe.invoices.retrieve(
      (await h.stripe.subscriptions.retrieve(subscription.id)).latest_invoice as string,
    );
    expect(renewal).toMatchObject({
      billing_reason: "subscription_cycle",
      total: -32,
      amount_due: 0,
      status: "paid",
    });
    const customer = (await h.stripe.customers.retrieve(subscription.customer as string)) as Stripe.Customer;
    expect(customer.balance).toBe(-32);

    // proration_behavior none changes the price and bills nothing now.
    await h.stripe.subscriptions.update(subscription.id, {
      items: [{ id: itemId, price: pro.id }],
      proration_behavior: "none",
    });
    expect((await h.stripe.invoices.list({ subscription: subscription.id })).data).toHaveLength(3);
    const all = await h.stripe.subscriptions.list({
      customer: subscription.customer as string,
      status: "all",
    });
    expect(all.data.map((entry) => entry.id)).toEqual([subscription.id]);
  });

  it("puts a downgrade's credit on the customer balance under always_invoice", async () => {
    const h = await setUp();
    const basic = await makePrice(h.stripe, { name: "Basic", unitAmount: 1000, interval: "month" });
    const pro = await makePrice(h.stripe, { name: "Pro", unitAmount: 3000, interval: "month" });
    const { subscription } = await subscribe(h, { price: pro.id });
    await h.control("/_emulator/clock/advance", { seconds: 15 * DAY });
    const downgraded = await h.stripe.subscriptions.update(subscription.id, {
      items: [{ id: subscription.items.data[0]?.id ?? "", price: basic.id }],
      proration_behavior: "always_invoice",
    });
    const invoice = await h.stripe.invoices.retrieve(downgraded.latest_invoice as string);
    expect(invoice).toMatchObject({ total: -1032, amount_due: 0, ending_balance: -1032, status: "paid" });
    const customer = (await h.stripe.customers.retrieve(subscription.customer as string)) as Stripe.Customer;
    expect(customer.balance).toBe(-1032);
  });

  it("restarts the cycle on an interval change and charges the new price less the unused old", async () => {
    const h = await setUp();
    const monthly = await makePrice(h.stripe, { unitAmount: 1000, interval: "month" });
    const yearly = await makePrice(h.stripe, { unitAmount: 10_000, interval: "year" });
    const { subscription } = await subscribe(h, { price: monthly.id });
    await h.stripe.subscriptions.update(subscription.id, { cancel_at_period_end: true });
    await h.control("/_emulator/clock/advance", { seconds: 15 * DAY });
    const now = START + 15 * DAY;
    const changed = await h.stripe.subscriptions.update(subscription.id, {
      items: [{ id: subscription.items.data[0]?.id ?? "", price: yearly.id }],
      proration_behavior: "create_prorations",
    });
    expect(changed).toMatchObject({ id: subscription.id, billing_cycle_anchor: now, status: "active" });
    expect(changed.items.data[0]).toMatchObject({ current_period_start: now });
    expect(new Date((changed.items.data[0]?.current_period_end ?? 0) * 1000).toISOString()).toBe(
      "2027-01-30T12:00:00.000Z",
    );
    const invoice = await h.stripe.invoices.retrieve(changed.latest_invoice as string);
    expect(invoice).toMatchObject({ total: 10_000 - 516, amount_paid: 9484, status: "paid" });
    // The pending cancellation follows the new period's end.
    expect(changed.cancel_at).toBe(changed.items.data[0]?.current_period_end);
  });

  it("cancels at period end on a clock advance, and at once on DELETE", async () => {
    const h = await setUp();
    const price = await makePrice(h.stripe, { unitAmount: 2900, interval: "month" });
    const { subscription } = await subscribe(h, { price: price.id });
    const periodEnd = subscription.items.data[0]?.current_period_end ?? 0;
    const canceling = await h.stripe.subscriptions.update(subscription.id, { cancel_at_period_end: true });
    expect(canceling).toMatchObject({ cancel_at_period_end: true, cancel_at: periodEnd, status: "active" });
    const advanced = await h.control("/_emulator/clock/advance", { seconds: 40 * DAY });
    expect(advanced.body.now).toBe(START + 40 * DAY);
    const ended = await h.stripe.subscriptions.retrieve(subscription.id);
    expect(ended).toMatchObject({ status: "canceled", ended_at: periodEnd });
    expect((await h.stripe.invoices.list({ subscription: subscription.id })).data).toHaveLength(1);
    expect((await h.delivered()).slice(-2)).toEqual([
      "customer.subscription.updated",
      "customer.subscription.deleted",
    ]);

    const second = await subscribe(h, { price: price.id, email: "bob@example.com" });
    const canceled = await h.stripe.subscriptions.cancel(second.subscription.id);
    expect(canceled).toMatchObject({
      status: "canceled",
      canceled_at: START + 40 * DAY,
      ended_at: START + 40 * DAY,
    });
    expect((await h.delivered()).at(-1)).toBe("customer.subscription.deleted");
    await expect(h.stripe.subscriptions.cancel(second.subscription.id)).rejects.toBeInstanceOf(
      Stripe.errors.StripeInvalidRequestError,
    );
  });

  it("renews on clock advances, through several periods in one advance", async () => {
    const h = await setUp();
    const price = await makePrice(h.stripe, { unitAmount: 2900, interval: "month" });
    const { subscription } = await subscribe(h, { price: price.id, country: "DE", automaticTax: true });
    const before = (await h.delivered()).length;
    await h.control("/_emulator/clock/advance", { seconds: 31 * DAY });
    const renewed = await h.stripe.subscriptions.retrieve(subscription.id);
    expect(new Date((renewed.items.data[0]?.current_period_start ?? 0) * 1000).toISOString()).toBe(
      "2026-02-15T12:00:00.000Z",
    );
    const invoice = await h.stripe.invoices.retrieve(renewed.latest_invoice as string);
    // DE 19%: 2900 → 551 tax.
    expect(invoice).toMatchObject({
      billing_reason: "subscription_cycle",
      status: "paid",
      subtotal: 2900,
      total: 3451,
    });
    expect((await h.delivered()).slice(before)).toEqual([
      "customer.subscription.updated",
      "invoice.paid",
      "invoice.payment_succeeded",
    ]);
    const updated = h.receiver.received.find(
      (entry) => entry.event.type === "customer.subscription.updated",
    )?.event;
    expect(updated?.created).toBe(START + 31 * DAY);

    await h.control("/_emulator/clock/advance", { seconds: 100 * DAY });
    const invoices = await h.stripe.invoices.list({ subscription: subscription.id });
    expect(invoices.data.map((entry) => new Date(entry.created * 1000).toISOString().slice(0, 10))).toEqual([
      "2026-05-15",
      "2026-04-15",
      "2026-03-15",
      "2026-02-15",
      "2026-01-15",
    ]);
  });

  it("goes past_due when card 0341 fails at renewal, and recovers after a card change", async () => {
    const h = await setUp();
    const price = await makePrice(h.stripe, { unitAmount: 2900, interval: "month" });
    const { subscription } = await subscribe(h, { price: price.id, card: "4000000000000341" });
    expect(subscription.status).toBe("active");
    await h.control("/_emulator/clock/advance", { seconds: 31 * DAY });
    const pastDue = await h.stripe.subscriptions.retrieve(subscription.id);
    expect(pastDue.status).toBe("past_due");
    const open = await h.stripe.invoices.retrieve(pastDue.latest_invoice as string);
    expect(open).toMatchObject({ status: "open", attempt_count: 1, next_payment_attempt: START + 34 * DAY });
    expect((await h.delivered()).slice(-2)).toEqual([
      "customer.subscription.updated",
      "invoice.payment_failed",
    ]);

    await h.control("/_emulator/clock/advance", { seconds: 2 * DAY });
    expect((await h.stripe.subscriptions.retrieve(subscription.id)).status).toBe("past_due");
    const changed = await h.control(`/_emulator/customers/${subscription.customer as string}/card`, {
      card: "4242424242424242",
    });
    expect(changed.status).toBe(200);
    await h.control("/_emulator/clock/advance", { seconds: 1 * DAY });
    expect((await h.stripe.subscriptions.retrieve(subscription.id)).status).toBe("active");
    expect(await h.stripe.invoices.retrieve(open.id)).toMatchObject({ status: "paid", attempt_count: 2 });
    expect((await h.delivered()).slice(-3)).toEqual([
      "invoice.paid",
      "invoice.payment_succeeded",
      "customer.subscription.updated",
    ]);
  });

  it("cancels a subscription after four failed attempts", async () => {
    const h = await setUp();
    const price = await makePrice(h.stripe, { unitAmount: 2900, interval: "month" });
    const { subscription } = await subscribe(h, { price: price.id, card: "4000000000000341" });
    await h.control("/_emulator/clock/advance", { seconds: 31 * DAY + 9 * DAY });
    const canceled = await h.stripe.subscriptions.retrieve(subscription.id);
    expect(canceled).toMatchObject({
      status: "canceled",
      cancellation_details: { reason: "payment_failed" },
    });
    const invoice = await h.stripe.invoices.retrieve(canceled.latest_invoice as string);
    expect(invoice).toMatchObject({ status: "open", attempt_count: 4, next_payment_attempt: null });
    const types = await h.delivered();
    expect(types.filter((type) => type === "invoice.payment_failed")).toHaveLength(4);
    expect(types.at(-1)).toBe("customer.subscription.deleted");
  });

  it("refunds part then the rest of a charge, with charge.refunded", async () => {
    const h = await setUp();
    const price = await makePrice(h.stripe, { name: "Credits", unitAmount: 1000 });
    const session = await h.stripe.checkout.sessions.create({
      mode: "payment",
      customer_email: "ada@example.com",
      customer_creation: "always",
      line_items: [{ price: price.id, quantity: 3 }],
      success_url: "https://app.example/ok",
    });
    const paid = await h.control(`/_emulator/checkout/sessions/${session.id}/pay`, {
      card: "4242424242424242",
    });
    expect(paid.body.customer).toMatch(/^cus_/);
    expect((await h.delivered())[0]).toBe("customer.created");
    const paymentIntent = paid.body.payment_intent as string;
    const partial = await h.stripe.refunds.create({ payment_intent: paymentIntent, amount: 1000 });
    expect(partial).toMatchObject({ status: "succeeded", amount: 1000, payment_intent: paymentIntent });
    let charge = await h.stripe.charges.retrieve(partial.charge as string);
    expect(charge).toMatchObject({ amount_refunded: 1000, refunded: false });
    await expect(h.stripe.refunds.create({ charge: charge.id, amount: 2001 })).rejects.toBeInstanceOf(
      Stripe.errors.StripeInvalidRequestError,
    );
    await h.stripe.refunds.create({ charge: charge.id });
    charge = await h.stripe.charges.retrieve(charge.id);
    expect(charge).toMatchObject({ amount_refunded: 3000, refunded: true });
    await h.emulator.idle();
    const refunded = h.receiver.received.filter((entry) => entry.event.type === "charge.refunded");
    expect(refunded.map((entry) => (entry.event.data.object as Stripe.Charge).amount_refunded)).toEqual([
      1000, 3000,
    ]);
    expect(refunded[0]?.event.data.previous_attributes).toMatchObject({ amount_refunded: 0 });
    expect((await h.stripe.refunds.list({ payment_intent: paymentIntent })).data).toHaveLength(2);
  });

  it("replays the first response for a repeated Idempotency-Key, and refuses other parameters under it", async () => {
    const h = await setUp();
    const first = await h.stripe.customers.create(
      { email: "ada@example.com" },
      { idempotencyKey: "signup-1" },
    );
    const again = await h.stripe.customers.create(
      { email: "ada@example.com" },
      { idempotencyKey: "signup-1" },
    );
    expect(again.id).toBe(first.id);
    expect((await h.stripe.customers.list()).data).toHaveLength(1);
    await expect(
      h.stripe.customers.create({ email: "bob@example.com" }, { idempotencyKey: "signup-1" }),
    ).rejects.toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(await h.delivered()).toEqual(["customer.created"]);
    const event = h.receiver.received[0]?.event;
    expect(event?.request).toMatchObject({ idempotency_key: "signup-1" });
  });

  it("answers Stripe's error classes: 404 missing, 401 wrong key, 400 bad parameter", async () => {
    const h = await setUp();
    const missing = await h.stripe.customers.retrieve("cus_nope").catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(missing).toMatchObject({ statusCode: 404, code: "resource_missing", param: "id" });
    const stranger = new Stripe("sk_test_wrong", {
      host: "localhost",
      port: h.emulator.port,
      protocol: "http",
    });
    await expect(stranger.customers.list()).rejects.toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    const bad = await h.stripe.checkout.sessions
      .create({
        mode: "payment",
        line_items: [{ price: "price_nope", quantity: 1 }],
        success_url: "https://x",
      })
      .catch((error: unknown) => error);
    expect(bad).toMatchObject({ statusCode: 404, param: "line_items[0][price]" });
    const price = await makePrice(h.stripe, { unitAmount: 500 });
    const badUrl = await h.stripe.checkout.sessions
      .create({
        mode: "payment",
        line_items: [{ price: price.id, quantity: 1 }],
        success_url: "javascript:alert(1)",
      })
      .catch((error: unknown) => error);
    expect(badUrl).toMatchObject({ statusCode: 400, param: "success_url" });
    const monthly = await makePrice(h.stripe, { unitAmount: 500, interval: "month" });
    const recurringInPayment = await h.stripe.checkout.sessions
      .create({
        mode: "payment",
        line_items: [{ price: monthly.id, quantity: 1 }],
        success_url: "https://app.example/ok",
      })
      .catch((error: unknown) => error);
    expect(recurringInPayment).toMatchObject({ statusCode: 400, param: "line_items[0][price]" });
    const unknownRoute = await fetch(`${h.emulator.url}/v1/nothing`, {
      headers: { authorization: `Bearer ${API_KEY}` },
    });
    expect(unknownRoute.status).toBe(404);
  });

  it("moves a lookup key only with transfer_lookup_key", async () => {
    const h = await setUp();
    const first = await makePrice(h.stripe, {
      unitAmount: 2900,
      interval: "month",
      lookupKey: "pro_monthly",
    });
    const product = await h.stripe.products.create({ id: "pro", name: "Pro" });
    expect(product.id).toBe("pro");
    const taken = await h.stripe.prices
      .create({
        product: "pro",
        currency: "usd",
        unit_amount: 3900,
        recurring: { interval: "month" },
        lookup_key: "pro_monthly",
      })
      .catch((error: unknown) => error);
    expect(taken).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    const second = await h.stripe.prices.create({
      product: "pro",
      currency: "usd",
      unit_amount: 3900,
      recurring: { interval: "month" },
      lookup_key: "pro_monthly",
      transfer_lookup_key: true,
    });
    expect((await h.stripe.prices.retrieve(first.id)).lookup_key).toBeNull();
    const found = await h.stripe.prices.list({ lookup_keys: ["pro_monthly"], expand: ["data.product"] });
    expect(found.data.map((price) => price.id)).toEqual([second.id]);
    expect(found.data[0]?.product).toMatchObject({ id: "pro", name: "Pro" });
    const archived = await h.stripe.prices.update(first.id, { active: false, metadata: { plan: "pro" } });
    expect(archived).toMatchObject({ active: false, metadata: { plan: "pro" } });
  });

  it("pages lists and expands ids and line_items", async () => {
    const h = await setUp();
    for (const email of ["a@example.com", "b@example.com", "c@example.com"])
      await h.stripe.customers.create({ email });
    const page = await h.stripe.customers.list({ limit: 2 });
    expect(page.data.map((customer) => customer.email)).toEqual(["c@example.com", "b@example.com"]);
    expect(page.has_more).toBe(true);
    const next = await h.stripe.customers.list({ limit: 2, starting_after: page.data[1]?.id ?? "" });
    expect(next.data.map((customer) => customer.email)).toEqual(["a@example.com"]);
    expect(next.has_more).toBe(false);
    const all: string[] = [];
    for await (const customer of h.stripe.customers.list({ limit: 1 })) all.push(customer.email ?? "");
    expect(all).toHaveLength(3);
    expect((await h.stripe.customers.list({ email: "b@example.com" })).data).toHaveLength(1);

    const price = await makePrice(h.stripe, { unitAmount: 2900, interval: "month" });
    const { session } = await subscribe(h, { price: price.id });
    const expanded = await h.stripe.checkout.sessions.retrieve(session.id, {
      expand: ["line_items", "subscription", "customer", "invoice"],
    });
    expect(expanded.line_items?.data[0]).toMatchObject({ object: "item", price: { id: price.id } });
    expect(expanded.subscription).toMatchObject({ object: "subscription" });
    expect(expanded.customer).toMatchObject({ object: "customer", email: "ada@example.com" });
    // Invoices lost `payment_intent` in API version 2025-03-31: expanding it is refused, as at Stripe.
    await expect(
      h.stripe.subscriptions.retrieve(session.subscription as string, {
        expand: ["latest_invoice.payment_intent"],
      }),
    ).rejects.toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    const withInvoice = await h.stripe.subscriptions.retrieve(session.subscription as string, {
      expand: ["latest_invoice", "items.data.price.product"],
    });
    expect(withInvoice.latest_invoice).toMatchObject({ object: "invoice", status: "paid" });
    expect(withInvoice.items.data[0]?.price.product).toMatchObject({ object: "product", name: "Pro" });
    const sessions = await h.stripe.checkout.sessions.list({
      status: "complete",
      expand: ["data.subscription"],
    });
    expect(sessions.data[0]?.subscription).toMatchObject({ object: "subscription" });
    const events = await h.stripe.events.list({ types: ["invoice.paid", "customer.created"] });
    expect(events.data.map((event) => event.type)).toEqual([
      "invoice.paid",
      "customer.created",
      "customer.created",
      "customer.created",
      "customer.created",
    ]);
  });

  it("keeps its state across a restart with the same data file", async () => {
    const directory = mkdtempSync(path.join(tmpdir(), "meterline-emulator-"));
    try {
      const dataFile = path.join(directory, "stripe.json");
      const first = await setUp({ dataFile });
      const price = await makePrice(first.stripe, { unitAmount: 2900, interval: "month" });
      const { subscription } = await subscribe(first, { price: price.id });
      await first.control("/_emulator/clock/advance", { seconds: 2 * DAY });
      await first.emulator.idle();
      const eventCount = first.receiver.received.length;
      await first.close();
      harness = null;

      const second = await setUp({ dataFile });
      const reloaded = await second.stripe.subscriptions.retrieve(subscription.id);
      expect(reloaded).toMatchObject({ id: subscription.id, status: "active" });
      expect((await second.control("/_emulator/clock")).body.now).toBe(START + 2 * DAY);
      expect((await second.stripe.events.list({ limit: 100 })).data).toHaveLength(eventCount);
      await second.emulator.idle();
      expect(second.receiver.received).toHaveLength(0);
      await second.close();
      harness = null;
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it("serves a hosted checkout page that pays by form and redirects to success_url", async () => {
    const h = await setUp();
    const price = await makePrice(h.stripe, { name: "Team yearly", unitAmount: 37_440, interval: "year" });
    const session = await h.stripe.checkout.sessions.create({
      mode: "subscription",
      customer_email: "ada@example.com",
      line_items: [{ price: price.id, quantity: 1 }],
      success_url: "https://app.example/billing?session={CHECKOUT_SESSION_ID}",
      cancel_url: "https://app.example/billing",
    });
    expect(session.url).toBe(`${h.emulator.url}/checkout/${session.id}`);
    const pageResponse = await fetch(session.url ?? "");
    const html = await pageResponse.text();
    expect(pageResponse.headers.get("content-type")).toContain("text/html");
    expect(html).toContain("Meterline");
    expect(html).toContain("Team yearly");
    expect(html).toContain("374.40 USD");
    expect(html).toMatch(/<label for="card-number">Card number<\/label>/);
    expect(html).toMatch(/<button type="submit">Pay<\/button>/);
    expect(html).toContain('href="https://app.example/billing"');
    expect(html).not.toMatch(/<(link|script) [^>]*src=/);

    const submit = (card: string) =>
      fetch(session.url ?? "", {
        method: "POST",
        redirect: "manual",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          email: "ada@example.com",
          country: "US",
          card_number: card,
          card_expiry: "12 / 34",
          card_cvc: "123",
        }).toString(),
      });
    const declined = await submit("4000 0000 0000 0002");
    expect(await declined.text()).toContain("Your card was declined.");
    const paid = await submit("4242 4242 4242 4242");
    expect(paid.status).toBe(303);
    expect(paid.headers.get("location")).toBe(`https://app.example/billing?session=${session.id}`);
    expect(await h.stripe.checkout.sessions.retrieve(session.id)).toMatchObject({
      status: "complete",
      amount_total: 37_440,
    });
    expect(await (await fetch(session.url ?? "")).text()).toContain("already complete");
  });

  it("expires open sessions, by API and by the clock", async () => {
    const h = await setUp();
    const price = await makePrice(h.stripe, { unitAmount: 500 });
    const create = () =>
      h.stripe.checkout.sessions.create({
        mode: "payment",
        line_items: [{ price: price.id, quantity: 1 }],
        success_url: "https://app.example/ok",
      });
    const first = await create();
    expect((await h.stripe.checkout.sessions.expire(first.id)).status).toBe("expired");
    await expect(h.stripe.checkout.sessions.expire(first.id)).rejects.toBeInstanceOf(
      Stripe.errors.StripeInvalidRequestError,
    );
    expect(await (await fetch(`${h.emulator.url}/checkout/${first.id}`)).text()).toContain("expired");
    const second = await create();
    await h.control("/_emulator/clock/advance", { seconds: DAY });
    expect((await h.stripe.checkout.sessions.retrieve(second.id)).status).toBe("expired");
    expect(await h.delivered()).toEqual(["checkout.session.expired", "checkout.session.expired"]);
  });

  it("shows a portal whose cancel button sets cancel_at_period_end", async () => {
    const h = await setUp();
    const price = await makePrice(h.stripe, { name: "Pro", unitAmount: 2900, interval: "month" });
    const { subscription } = await subscribe(h, { price: price.id });
    const configuration = await portalConfiguration(h.stripe);
    const portal = await h.stripe.billingPortal.sessions.create({
      configuration: configuration.id,
      customer: subscription.customer as string,
      return_url: "https://app.example/billing",
    });
    const html = await (await fetch(portal.url)).text();
    expect(html).toContain("Pro");
    expect(html).toContain("29.00 USD / month");
    expect(html).toContain("Renews on 2026-02-15");
    expect(html).toContain('href="https://app.example/billing"');
    const action = /action="([^"]+\/cancel)"/.exec(html)?.[1] ?? "";
    const canceled = await fetch(`${h.emulator.url}${action}`, { method: "POST", redirect: "manual" });
    expect(canceled.status).toBe(303);
    expect((await h.stripe.subscriptions.retrieve(subscription.id)).cancel_at_period_end).toBe(true);
    expect(await (await fetch(portal.url)).text()).toContain("Cancels on 2026-02-15");
  });

  it("retries a delivery the receiver answered with 500", async () => {
    const h = await setUp();
    h.receiver.respondWith((_event, attempt) => (attempt === 1 ? 500 : 200));
    const customer = await h.stripe.customers.create({ email: "ada@example.com" });
    await h.emulator.idle();
    expect(h.receiver.received.map((entry) => entry.status)).toEqual([500, 200]);
    expect(new Set(h.receiver.received.map((entry) => entry.event.id)).size).toBe(1);
    expect(h.receiver.received[0]?.event.data.object).toMatchObject({ id: customer.id });
    const log = await h.control("/_emulator/events");
    expect(log.body.data).toMatchObject([
      { type: "customer.created", settled: true, deliveries: [{ status: 500 }, { status: 200 }] },
    ]);

    h.receiver.respondWith(() => 503);
    await h.stripe.customers.create({ email: "bob@example.com" });
    await h.emulator.idle();
    expect(h.receiver.received.slice(2).map((entry) => entry.status)).toEqual([503, 503, 503]);
  });

  it("replays every event several times in random order", async () => {
    const h = await setUp();
    const price = await makePrice(h.stripe, { unitAmount: 2900, interval: "month" });
    await subscribe(h, { price: price.id });
    await h.emulator.idle();
    const originals = h.receiver.received.length;
    const replay = await h.control("/_emulator/events/replay", { times: 3, shuffle: true });
    expect(replay.body).toEqual({ deliveries: originals * 3 });
    await h.emulator.idle();
    expect(h.receiver.received).toHaveLength(originals * 4);
    const counts = new Map<string, number>();
    for (const entry of h.receiver.received)
      counts.set(entry.event.id, (counts.get(entry.event.id) ?? 0) + 1);
    expect([...counts.values()].every((count) => count === 4)).toBe(true);
    expect(h.receiver.received.every((entry) => entry.verified)).toBe(true);
  });
});

describe("Stripe emulator object shapes", () => {
  it("carries every key of Stripe's fixtures on every object it returns", async () => {
    const h = await setUp();
    const customer = await h.stripe.customers.create({
      email: "ada@example.com",
      address: { country: "FR" },
    });
    expectFixtureKeys("customer", customer);
    const price = await makePrice(h.stripe, { unitAmount: 2900, interval: "month" });
    expectFixtureKeys("price", price);
    expectFixtureKeys("product", await h.stripe.products.retrieve(price.product as string));

    const { session, subscription } = await subscribe(h, {
      price: price.id,
      country: "FR",
      automaticTax: true,
    });
    expectFixtureKeys("checkout.session", await h.stripe.checkout.sessions.retrieve(session.id));
    const credits = await makePrice(h.stripe, { name: "Credits", unitAmount: 1000 });
    const creditSession = await h.stripe.checkout.sessions.create({
      mode: "payment",
      line_items: [{ price: credits.id, quantity: 5, adjustable_quantity: { enabled: true, maximum: 100 } }],
      success_url: "https://app.example/ok",
    });
    expectFixtureKeys("item", (await h.stripe.checkout.sessions.listLineItems(creditSession.id)).data[0]);
    expectFixtureKeys("subscription", subscription);
    const item = subscription.items.data[0];
    expectFixtureKeys("subscription_item", item);
    expectFixtureKeys("plan", item?.plan);

    const invoice = await h.stripe.invoices.retrieve(session.invoice as string);
    expectFixtureKeys("invoice", invoice);
    expectFixtureKeys("line_item", invoice.lines.data[0]);
    expect(invoice.parent).toMatchObject({ type: "subscription_details" });

    const intents = await h.stripe.paymentIntents.list({ customer: subscription.customer as string });
    const intent = intents.data[0];
    expectFixtureKeys("payment_intent", intent);
    const charge = await h.stripe.charges.retrieve(intent?.latest_charge as string);
    const refund = await h.stripe.refunds.create({ charge: charge.id, amount: 100 });
    expectFixtureKeys("refund", refund);
    expectFixtureKeys("charge", await h.stripe.charges.retrieve(charge.id));

    const configuration = await portalConfiguration(h.stripe);
    expectFixtureKeys("billing_portal.configuration", configuration);
    const portal = await h.stripe.billingPortal.sessions.create({
      configuration: configuration.id,
      customer: customer.id,
    });
    expectFixtureKeys("billing_portal.session", portal);
    const calculation = await h.stripe.tax.calculations.create({
      currency: "usd",
      line_items: [{ amount: 1000, reference: "seat" }],
      customer_details: { address: { country: "DE" }, address_source: "billing" },
    });
    expectFixtureKeys("tax.calculation", calculation);
    expectFixtureKeys(
      "tax.calculation_line_item",
      (await h.stripe.tax.calculations.listLineItems(calculation.id ?? "")).data[0],
    );

    const events = await h.stripe.events.list({ limit: 100 });
    for (const event of events.data) expectFixtureKeys("event", event);
    expectFixtureKeys("event", await h.stripe.events.retrieve(events.data[0]?.id ?? ""));
  });
});
