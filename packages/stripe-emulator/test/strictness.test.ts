import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import Stripe from "stripe";
import { afterEach, describe, expect, it } from "vitest";
import { type StripeEmulator, startStripeEmulator } from "../src/index.js";

const API_KEY = "sk_test_strictness";

interface Running {
  emulator: StripeEmulator;
  stripe: Stripe;
  received: string[];
  close(): Promise<void>;
}

let running: Running | null = null;

afterEach(async () => {
  await running?.close();
  running = null;
});

/** An emulator delivering to a receiver that records the ids of the events it gets, in order. */
async function start(): Promise<Running> {
  const received: string[] = [];
  const receiver = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk);
    received.push((JSON.parse(Buffer.concat(chunks).toString("utf8")) as { id: string }).id);
    response.writeHead(200).end();
  });
  receiver.listen(0, "127.0.0.1");
  await once(receiver, "listening");
  const emulator = await startStripeEmulator({
    port: 0,
    apiKey: API_KEY,
    webhook: {
      url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`,
      secret: "whsec_strictness",
    },
  });
  const stripe = new Stripe(API_KEY, {
    host: "localhost",
    port: emulator.port,
    protocol: "http",
    maxNetworkRetries: 0,
  });
  running = {
    emulator,
    stripe,
    received,
    close: async () => {
      await emulator.close();
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    },
  };
  return running;
}

async function control(emulator: StripeEmulator, route: string, body?: unknown) {
  const response = await fetch(`${emulator.url}${route}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Ids of every event so far, in creation order. */
async function eventIds(emulator: StripeEmulator): Promise<string[]> {
  const { body } = await control(emulator, "/_emulator/events");
  return (body.data as { id: string }[]).map((event) => event.id);
}

async function refusal(call: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  const error = await call.then(
    () => null,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(Stripe.errors.StripeError);
  return error as Stripe.errors.StripeError;
}

async function monthlyPrice(stripe: Stripe): Promise<Stripe.Price> {
  const product = await stripe.products.create({ name: "Pro" });
  return stripe.prices.create({
    product: product.id,
    currency: "usd",
    unit_amount: 2900,
    recurring: { interval: "month" },
  });
}

describe("unknown parameters", () => {
  const cases: {
    name: string;
    call: (stripe: Stripe, price: Stripe.Price) => Promise<unknown>;
    param: string;
  }[] = [
    {
      name: "at the top",
      call: (stripe) => stripe.customers.create({ email: "ada@example.com", nmae: "Ada" } as never),
      param: "nmae",
    },
    {
      name: "in a list item",
      call: (stripe, price) =>
        stripe.checkout.sessions.create({
          mode: "subscription",
          customer_email: "ada@example.com",
          line_items: [{ price: price.id, quantity: 1, foo: "bar" } as never],
          success_url: "https://app.example/ok",
        }),
      param: "line_items[0][foo]",
    },
    {
      name: "in a nested hash",
      call: (stripe, price) =>
        stripe.checkout.sessions.create({
          mode: "subscription",
          customer_email: "ada@example.com",
          line_items: [{ price: price.id, quantity: 1 }],
          subscription_data: { metadata: { a: "b" }, trial_period_dayz: 3 } as never,
          success_url: "https://app.example/ok",
        }),
      param: "subscription_data[trial_period_dayz]",
    },
    {
      name: "a hash given to a scalar",
      call: (stripe) => stripe.customers.create({ email: { first: "x" } } as never),
      param: "email[first]",
    },
    {
      name: "in a list's query string",
      call: (stripe) => stripe.customers.list({ limit: 3, emial: "x" } as never),
      param: "emial",
    },
    {
      name: "on an update",
      call: (stripe, price) => stripe.prices.update(price.id, { active: true, colour: "red" } as never),
      param: "colour",
    },
  ];
  for (const { name, call, param } of cases) {
    it(`are refused ${name}: 400 parameter_unknown naming ${param}`, async () => {
      const { stripe } = await start();
      const price = await monthlyPrice(stripe);
      const error = await refusal(call(stripe, price));
      expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(error.statusCode).toBe(400);
      expect(error.code).toBe("parameter_unknown");
      expect(error.param).toBe(param);
      expect(error.message).toBe(`Received unknown parameter: ${param}`);
    });
  }

  it("leave metadata's keys free and accept expand everywhere", async () => {
    const { stripe } = await start();
    const customer = await stripe.customers.create({
      email: "ada@example.com",
      metadata: { anything: "goes", "0": "too" },
      expand: ["invoice_settings"],
    });
    expect(customer.metadata).toEqual({ anything: "goes", "0": "too" });
  });

  it("are refused on the control routes too", async () => {
    const { emulator } = await start();
    const refused = await control(emulator, "/_emulator/clock/advance", { seconds: 1, minutes: 2 });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: "parameter_unknown", param: "minutes" });
  });
});

describe("POST /_emulator/latency", () => {
  it("delays every answer of Stripe's API, not the control routes, until set back to 0", async () => {
    const { emulator, stripe } = await start();
    expect((await control(emulator, "/_emulator/latency", { ms: 300 })).body).toEqual({ ms: 300 });
    expect((await control(emulator, "/_emulator/latency")).body).toEqual({ ms: 300 });

    let began = performance.now();
    await stripe.customers.create({ email: "ada@example.com" });
    expect(performance.now() - began).toBeGreaterThanOrEqual(290);
    began = performance.now();
    await refusal(stripe.customers.retrieve("cus_missing"));
    expect(performance.now() - began).toBeGreaterThanOrEqual(290);

    began = performance.now();
    await control(emulator, "/_emulator/clock");
    await fetch(`${emulator.url}/checkout/cs_missing`);
    expect(performance.now() - began).toBeLessThan(250);

    await control(emulator, "/_emulator/latency", { ms: 0 });
    began = performance.now();
    await stripe.customers.list({ limit: 1 });
    expect(performance.now() - began).toBeLessThan(250);
  });

  it("makes the SDK time out when Stripe is slower than its timeout", async () => {
    const { emulator } = await start();
    await control(emulator, "/_emulator/latency", { ms: 1000 });
    const impatient = new Stripe(API_KEY, {
      host: "localhost",
      port: emulator.port,
      protocol: "http",
      maxNetworkRetries: 0,
      timeout: 200,
    });
    const error = await refusal(impatient.customers.create({ email: "ada@example.com" }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeConnectionError);
  });

  const bad: { name: string; body: unknown; param: string }[] = [
    { name: "without ms", body: {}, param: "ms" },
    { name: "with a negative ms", body: { ms: -1 }, param: "ms" },
    { name: "with a fractional ms", body: { ms: 1.5 }, param: "ms" },
    { name: "with a text ms", body: { ms: "slow" }, param: "ms" },
    { name: "with another field", body: { ms: 10, jitter: 5 }, param: "jitter" },
  ];
  for (const { name, body, param } of bad) {
    it(`refuses a body ${name}: 400 naming ${param}`, async () => {
      const { emulator } = await start();
      const refused = await control(emulator, "/_emulator/latency", body);
      expect(refused.status).toBe(400);
      expect(refused.body.error).toMatchObject({ type: "invalid_request_error", param });
      expect((await control(emulator, "/_emulator/latency")).body).toEqual({ ms: 0 });
    });
  }
});

describe("POST /_emulator/deliveries", () => {
  it("delivers first attempts in creation order by default", async () => {
    const { emulator, stripe, received } = await start();
    for (let n = 0; n < 8; n++) await stripe.customers.create({ email: `c${n}@example.com` });
    await emulator.idle();
    const created = await eventIds(emulator);
    expect(received).toEqual(created);
  });

  it("shuffles and delays deliveries when asked, each event still delivered once", async () => {
    const { emulator, stripe, received } = await start();
    const set = await control(emulator, "/_emulator/deliveries", { shuffle: true, max_delay_ms: 50 });
    expect(set.body).toEqual({ shuffle: true, max_delay_ms: 50 });
    let reordered = 0;
    for (let round = 0; round < 5; round++) {
      received.length = 0;
      const before = new Set(await eventIds(emulator));
      for (let n = 0; n < 6; n++) await stripe.customers.create({ email: `r${round}c${n}@example.com` });
      await emulator.idle();
      const created = (await eventIds(emulator)).filter((id) => !before.has(id));
      expect([...received].sort()).toEqual([...created].sort());
      if (received.join() !== created.join()) reordered++;
    }
    // Five rounds of six events all in creation order would be a 1 in 720^5 chance.
    expect(reordered).toBeGreaterThan(0);
    await control(emulator, "/_emulator/deliveries", { shuffle: false });
    expect((await control(emulator, "/_emulator/deliveries")).body).toEqual({
      shuffle: false,
      max_delay_ms: 0,
    });
  });

  it("refuses a bad body naming the field", async () => {
    const { emulator } = await start();
    for (const [body, param] of [
      [{}, "shuffle"],
      [{ shuffle: "maybe" }, "shuffle"],
      [{ shuffle: true, max_delay_ms: -5 }, "max_delay_ms"],
    ] as const) {
      const refused = await control(emulator, "/_emulator/deliveries", body);
      expect(refused.status).toBe(400);
      expect(refused.body.error).toMatchObject({ param });
    }
  });
});

async function pay(emulator: StripeEmulator, sessionId: string, body: Record<string, unknown>) {
  const paid = await control(emulator, `/_emulator/checkout/sessions/${sessionId}/pay`, {
    card: "4242424242424242",
    ...body,
  });
  expect(paid.status).toBe(200);
  return paid.body as unknown as Stripe.Checkout.Session;
}

async function creditPrice(stripe: Stripe, taxBehavior?: "exclusive" | "inclusive"): Promise<Stripe.Price> {
  const product = await stripe.products.create({ name: "Credits" });
  return stripe.prices.create({
    product: product.id,
    currency: "usd",
    unit_amount: 100,
    ...(taxBehavior ? { tax_behavior: taxBehavior } : {}),
  });
}

function taxedCheckout(
  stripe: Stripe,
  {
    customer,
    price,
    update,
  }: { customer: string; price: string; update?: Stripe.Checkout.SessionCreateParams.CustomerUpdate },
) {
  return stripe.checkout.sessions.create({
    mode: "payment",
    customer,
    line_items: [{ price, quantity: 10 }],
    automatic_tax: { enabled: true },
    success_url: "https://app.example/ok",
    ...(update ? { customer_update: update } : {}),
  });
}

describe("Checkout with automatic tax", () => {
  const locations: { name: string; address: Stripe.AddressParam | null; valid: boolean }[] = [
    { name: "no address", address: null, valid: false },
    { name: "an address without a country", address: { city: "Paris" }, valid: false },
    { name: "a US address without a postal code", address: { country: "US" }, valid: false },
    {
      name: "a US address with a postal code",
      address: { country: "US", postal_code: "94107" },
      valid: true,
    },
    { name: "a French address", address: { country: "FR" }, valid: true },
  ];
  for (const { name, address, valid } of locations) {
    it(`${valid ? "accepts" : "refuses"} a customer with ${name}`, async () => {
      const { stripe } = await start();
      const customer = await stripe.customers.create({
        email: "ada@example.com",
        ...(address ? { address } : {}),
      });
      const price = await creditPrice(stripe, "exclusive");
      const created = taxedCheckout(stripe, { customer: customer.id, price: price.id });
      if (valid) {
        expect((await created).automatic_tax.enabled).toBe(true);
        return;
      }
      const error = await refusal(created);
      expect(error.statusCode).toBe(400);
      expect(error.code).toBe("customer_tax_location_invalid");
      // Letting Checkout collect the address and save it onto the customer is Stripe's way out.
      expect(
        (await taxedCheckout(stripe, { customer: customer.id, price: price.id, update: { address: "auto" } }))
          .id,
      ).toMatch(/^cs_/);
      expect(
        (
          await taxedCheckout(stripe, {
            customer: customer.id,
            price: price.id,
            update: { shipping: "auto" },
          })
        ).id,
      ).toMatch(/^cs_/);
    });
  }

  it("saves the address collected onto the customer with customer_update[address]=auto", async () => {
    const { stripe, emulator } = await start();
    const customer = await stripe.customers.create({ email: "ada@example.com" });
    const price = await creditPrice(stripe, "exclusive");
    const session = await taxedCheckout(stripe, {
      customer: customer.id,
      price: price.id,
      update: { address: "auto" },
    });
    const paid = await pay(emulator, session.id, { country: "FR" });
    expect(paid.total_details?.amount_tax).toBe(200);
    expect((await stripe.customers.retrieve(customer.id)) as Stripe.Customer).toMatchObject({
      address: { country: "FR" },
    });
    const types = (await stripe.events.list({ limit: 100 })).data.map((event) => event.type);
    expect(types).toContain("customer.updated");
  });

  it("refuses customer_update without a customer", async () => {
    const { stripe } = await start();
    const price = await creditPrice(stripe, "exclusive");
    const error = await refusal(
      stripe.checkout.sessions.create({
        mode: "payment",
        customer_email: "ada@example.com",
        line_items: [{ price: price.id, quantity: 1 }],
        customer_update: { address: "auto" },
        success_url: "https://app.example/ok",
      }),
    );
    expect(error.param).toBe("customer_update");
  });

  it("needs prices that say whether they include tax", async () => {
    const { stripe } = await start();
    const customer = await stripe.customers.create({ email: "ada@example.com", address: { country: "FR" } });
    const unspecified = await creditPrice(stripe);
    const error = await refusal(taxedCheckout(stripe, { customer: customer.id, price: unspecified.id }));
    expect(error.statusCode).toBe(400);
    expect(error.param).toBe("line_items[0][price]");
  });
});

async function subscribeWith(
  { stripe, emulator }: Running,
  { price, billingMode }: { price: string; billingMode?: "classic" | "flexible" },
): Promise<Stripe.Subscription> {
  const customer = await stripe.customers.create({ email: "ada@example.com", address: { country: "DE" } });
  const session = await stripe.checkout.sessions.create({
    mode: "subscription",
    customer: customer.id,
    line_items: [{ price, quantity: 1 }],
    success_url: "https://app.example/ok",
    ...(billingMode ? { subscription_data: { billing_mode: { type: billingMode } } } : {}),
  });
  const paid = await pay(emulator, session.id, {});
  return stripe.subscriptions.retrieve(paid.subscription as string);
}

describe("billing modes", () => {
  it("defaults a subscription to flexible, as Stripe does since 2025-09-30, and keeps classic when asked", async () => {
    const running = await start();
    const price = await monthlyPrice(running.stripe);
    const flexible = await subscribeWith(running, { price: price.id });
    expect(flexible.billing_mode).toMatchObject({
      type: "flexible",
      flexible: { proration_discounts: "included" },
    });
    const classic = await subscribeWith(running, { price: price.id, billingMode: "classic" });
    expect(classic.billing_mode).toMatchObject({ type: "classic", flexible: null });
    expect(classic.billing_mode.updated_at).toBe(classic.created);
  });

  it("refuses a billing mode outside subscription mode", async () => {
    const { stripe } = await start();
    const price = await creditPrice(stripe, "exclusive");
    const error = await refusal(
      stripe.checkout.sessions.create({
        mode: "payment",
        customer_email: "ada@example.com",
        line_items: [{ price: price.id, quantity: 1 }],
        subscription_data: { billing_mode: { type: "classic" } },
        success_url: "https://app.example/ok",
      }),
    );
    expect(error.param).toBe("subscription_data[billing_mode]");
  });

  // A change made without prorations leaves the old amount billed: classic then credits the new
  // price's unused time, flexible what was really billed.
  for (const [mode, credit] of [
    ["classic", -2900 * 3],
    ["flexible", -2900],
  ] as const) {
    it(`credits ${mode === "classic" ? "the current price" : "what was billed"} under ${mode}`, async () => {
      const running = await start();
      const { stripe } = running;
      const product = await stripe.products.create({ name: "Plans" });
      const price = (amount: number) =>
        stripe.prices.create({
          product: product.id,
          currency: "usd",
          unit_amount: amount,
          recurring: { interval: "month" },
        });
      const [small, large, larger] = [await price(2900), await price(8700), await price(9900)];
      const subscription = await subscribeWith(running, { price: small.id, billingMode: mode });
      const item = subscription.items.data[0]?.id ?? "";
      await stripe.subscriptions.update(subscription.id, {
        items: [{ id: item, price: large.id }],
        proration_behavior: "none",
      });
      const changed = await stripe.subscriptions.update(subscription.id, {
        items: [{ id: item, price: larger.id }],
        proration_behavior: "always_invoice",
      });
      const invoice = await stripe.invoices.retrieve(changed.latest_invoice as string);
      const lines = invoice.lines.data.map((line) => line.amount);
      // The change comes at once, so the whole period is unused.
      expect(lines).toEqual([credit, 9900]);
    });
  }
});

describe("billing portal configurations", () => {
  it("must exist before a portal session, which names one", async () => {
    const { stripe } = await start();
    const customer = await stripe.customers.create({ email: "ada@example.com" });
    const missing = await refusal(stripe.billingPortal.sessions.create({ customer: customer.id }));
    expect(missing.statusCode).toBe(400);

    const configuration = await stripe.billingPortal.configurations.create({
      features: {
        subscription_cancel: { enabled: true, mode: "at_period_end" },
        payment_method_update: { enabled: true },
        invoice_history: { enabled: true },
      },
      default_return_url: "https://app.example/billing",
      metadata: { owner: "meterline" },
    });
    expect(configuration).toMatchObject({
      object: "billing_portal.configuration",
      active: true,
      is_default: false,
      default_return_url: "https://app.example/billing",
      features: {
        subscription_cancel: { enabled: true, mode: "at_period_end" },
        payment_method_update: { enabled: true },
        invoice_history: { enabled: true },
        customer_update: { enabled: false },
      },
    });
    // Only the Dashboard's configuration is the default: naming none still fails.
    await refusal(stripe.billingPortal.sessions.create({ customer: customer.id }));
    const session = await stripe.billingPortal.sessions.create({
      customer: customer.id,
      configuration: configuration.id,
    });
    expect(session.configuration).toBe(configuration.id);
    expect(session.return_url).toBe("https://app.example/billing");

    const updated = await stripe.billingPortal.configurations.update(configuration.id, {
      features: { invoice_history: { enabled: false } },
    });
    expect(updated.features.invoice_history.enabled).toBe(false);
    expect(updated.features.subscription_cancel.enabled).toBe(true);
    const listed = await stripe.billingPortal.configurations.list({ active: true });
    expect(listed.data.map((entry) => entry.id)).toEqual([configuration.id]);
    expect((await stripe.billingPortal.configurations.retrieve(configuration.id)).metadata).toEqual({
      owner: "meterline",
    });

    await stripe.billingPortal.configurations.update(configuration.id, { active: false });
    const inactive = await refusal(
      stripe.billingPortal.sessions.create({ customer: customer.id, configuration: configuration.id }),
    );
    expect(inactive.param).toBe("configuration");
  });
});
