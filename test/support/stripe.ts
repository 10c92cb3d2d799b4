import { signWebhookPayload } from "@meterline/stripe-emulator";
import { expect } from "vitest";
import type { Browser, TestContext } from "./app.js";

/** Pays a Checkout Session on the emulator as a person would, and waits for its webhooks. */
export async function payCheckout(
  ctx: TestContext,
  sessionId: string,
  body: Record<string, unknown> = { card: "4242424242424242" },
): Promise<Response> {
  const response = await fetch(`${ctx.stripeEmulator.url}/_emulator/checkout/sessions/${sessionId}/pay`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  await ctx.stripeEmulator.idle();
  return response;
}

export async function advanceStripeClock(ctx: TestContext, seconds: number): Promise<void> {
  const response = await fetch(`${ctx.stripeEmulator.url}/_emulator/clock/advance`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ seconds }),
  });
  expect(response.status).toBe(200);
  await ctx.stripeEmulator.idle();
}

/**
 * Makes the emulator deliver webhooks as Stripe may: first attempts in any order, each up to
 * `maxDelayMs` late (`{ shuffle: false }` puts creation order back).
 */
export async function shuffleDeliveries(
  ctx: TestContext,
  order: { shuffle: boolean; maxDelayMs?: number },
): Promise<void> {
  const response = await fetch(`${ctx.stripeEmulator.url}/_emulator/deliveries`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ shuffle: order.shuffle, max_delay_ms: order.maxDelayMs ?? 0 }),
  });
  expect(response.status, await response.clone().text()).toBe(200);
}

/** Subscribes the organization through Checkout and the emulator; answers GET …/subscription. */
export async function subscribe(
  ctx: TestContext,
  owner: Browser,
  orgId: string,
  choice: { plan: string; interval: "month" | "year"; card?: string },
) {
  const checkout = await owner.request("POST", `/v1/orgs/${orgId}/checkout/subscription`, {
    plan: choice.plan,
    interval: choice.interval,
  });
  expect(checkout.statusCode, checkout.body).toBe(200);
  const paid = await payCheckout(ctx, checkout.json().session_id, {
    card: choice.card ?? "4242424242424242",
  });
  expect(paid.status).toBe(200);
  const subscription = await owner.request("GET", `/v1/orgs/${orgId}/subscription`);
  return { checkout: checkout.json(), subscription: subscription.json() };
}

export interface RawEvent {
  id: string;
  type: string;
  payload: string;
}

/** Every event Stripe holds about one customer, oldest first, as the exact JSON Stripe would send. */
export async function eventsOfCustomer(ctx: TestContext, customerId: string): Promise<RawEvent[]> {
  const events: RawEvent[] = [];
  for await (const event of ctx.stripe.sdk.events.list({ limit: 100 })) {
    const object = event.data.object as { id?: string; customer?: string | { id: string } | null };
    const customer = typeof object.customer === "string" ? object.customer : object.customer?.id;
    if (customer === customerId || object.id === customerId) {
      events.push({ id: event.id, type: event.type, payload: JSON.stringify(event) });
    }
  }
  return events.reverse();
}

/** Delivers a payload to the webhook as Stripe would, signed now with the app's secret unless told otherwise. */
export function deliverWebhook(
  ctx: TestContext,
  payload: string,
  {
    secret = ctx.webhookSecret,
    timestamp,
    header,
  }: { secret?: string; timestamp?: number; header?: string } = {},
) {
  const signature =
    header ??
    signWebhookPayload({
      payload,
      secret,
      timestamp: timestamp ?? Math.floor(ctx.clock.now().getTime() / 1000),
    });
  return ctx.app.inject({
    method: "POST",
    url: "/v1/webhooks/stripe",
    headers: { "content-type": "application/json", "stripe-signature": signature },
    payload,
  });
}

/** A small seeded PRNG, so a failing order can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
