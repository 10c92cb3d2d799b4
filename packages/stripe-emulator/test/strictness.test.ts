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
