import { DEFAULT_EXPIRY_YEARS, readCard } from "./cards.js";
import { type CheckoutPayment, payCheckoutSession } from "./checkout.js";
import type { Context } from "./context.js";
import { runDueWork } from "./dueWork.js";
import { renderCheckoutSession, renderCustomer } from "./objects.js";
import { invalidRequest, type Params } from "./params.js";
import { json, type LoggedRequest, type Route } from "./server.js";
import type { Card, CheckoutSessionRecord } from "./store.js";
import type { WebhookDelivery } from "./webhookDelivery.js";

const MAX_REPLAY_TIMES = 100;
/** Ten minutes: more would outlast any client's timeout and only hang a test. */
const MAX_DELAY_MS = 600_000;

/** Settings of the running emulator that no Stripe request changes; kept in memory only. */
export interface Settings {
  latencyMs: number;
}

/** A whole number of milliseconds from 0 to MAX_DELAY_MS, named by its field when refused. */
function milliseconds(input: Params, key: string): number | undefined {
  const value = input.integer(key);
  if (value !== undefined && (value < 0 || value > MAX_DELAY_MS)) {
    throw invalidRequest(`${key} must be between 0 and ${MAX_DELAY_MS}.`, key, "parameter_invalid_integer");
  }
  return value;
}

/** A card typed without an expiry (scripts) expires some years after the emulator's now. */
export function cardFromNumber({ context, number }: { context: Context; number: string }): Card {
  const year = new Date(context.now() * 1000).getUTCFullYear() + DEFAULT_EXPIRY_YEARS;
  return readCard({ number, expMonth: 12, expYear: year });
}

function scriptedPayment({
  context,
  session,
  input,
}: {
  context: Context;
  session: CheckoutSessionRecord;
  input: Params;
}): CheckoutPayment {
  const quantity = input.integer("quantity");
  const quantities: Record<string, number> = {};
  if (quantity !== undefined) {
    const adjustable = session.lineItems.find((item) => item.adjustable);
    if (!adjustable)
      throw invalidRequest("No line item of this session has an adjustable quantity.", "quantity");
    quantities[adjustable.id] = quantity;
  }
  const amountSubtotal = input.integer("amount_subtotal");
  if (amountSubtotal !== undefined && amountSubtotal < 0) {
    throw invalidRequest("amount_subtotal must not be negative.", "amount_subtotal");
  }
  return {
    card: cardFromNumber({ context, number: input.requiredString("card") }),
    email: input.string("email") ?? null,
    country: input.string("country")?.toUpperCase() ?? null,
    quantities,
    async: input.enumOf("async", ["succeeded", "failed"] as const) ?? null,
    amountSubtotal,
  };
}

/**
 * Routes for scripts and tests, on the hosted pages' origin, outside Stripe's API: pay a session
 * as a person would, move the clock, swap a customer's card, replay events, inspect deliveries.
 */
export function controlRoutes({
  delivery,
  settings,
  requests,
}: {
  delivery: WebhookDelivery;
  settings: Settings;
  requests: LoggedRequest[];
}): Route[] {
  return [
    {
      // The latest requests of Stripe's API that ran (up to 2,000), oldest first: what a client
      // sent and what it was answered, as Stripe's request logs show them.
      method: "GET",
      path: "/_emulator/requests",
      params: {},
      handle: () => json({ data: requests }),
    },
    {
      method: "DELETE",
      path: "/_emulator/requests",
      params: {},
      handle: () => {
        requests.length = 0;
        return json({ data: [] });
      },
    },
    {
      // Every answer of Stripe's API waits this long; control routes and hosted pages do not.
      method: "POST",
      path: "/_emulator/latency",
      params: { ms: true },
      handle: ({ input }) => {
        const ms = milliseconds(input, "ms");
        if (ms === undefined) throw invalidRequest("Missing required param: ms.", "ms", "parameter_missing");
        settings.latencyMs = ms;
        return json({ ms });
      },
    },
    {
      method: "GET",
      path: "/_emulator/latency",
      params: {},
      handle: () => json({ ms: settings.latencyMs }),
    },
    {
      // Stripe guarantees no order of delivery: shuffled, first attempts come in any order, late.
      method: "POST",
      path: "/_emulator/deliveries",
      params: { shuffle: true, max_delay_ms: true },
      handle: ({ input }) => {
        const shuffle = input.boolean("shuffle");
        if (shuffle === undefined) {
          throw invalidRequest("Missing required param: shuffle.", "shuffle", "parameter_missing");
        }
        const maxDelayMs = milliseconds(input, "max_delay_ms") ?? 0;
        delivery.order = { shuffle, maxDelayMs: shuffle ? maxDelayMs : 0 };
        return json({ shuffle, max_delay_ms: delivery.order.maxDelayMs });
      },
    },
    {
      method: "GET",
      path: "/_emulator/deliveries",
      params: {},
      handle: () => json({ shuffle: delivery.order.shuffle, max_delay_ms: delivery.order.maxDelayMs }),
    },
    {
      method: "POST",
      path: "/_emulator/clock/advance",
      params: { seconds: true },
      handle: ({ context, input }) => {
        const seconds = input.requiredInteger("seconds");
        if (seconds < 0) throw invalidRequest("The clock only moves forward.", "seconds");
        context.store.clockOffsetSeconds += seconds;
        runDueWork({ context });
        return json({ now: context.now() });
      },
    },
    {
      method: "GET",
      path: "/_emulator/clock",
      params: {},
      handle: ({ context }) => json({ now: context.now() }),
    },
    {
      method: "POST",
      path: "/_emulator/checkout/sessions/:id/pay",
      params: { card: true, email: true, country: true, quantity: true, async: true, amount_subtotal: true },
      handle: ({ context, input, path }) => {
        const session = context.store.checkoutSessions.require(path.id ?? "");
        const payment = scriptedPayment({ context, session, input });
        return json(renderCheckoutSession(context, payCheckoutSession({ context, session, payment })));
      },
    },
    {
      method: "POST",
      path: "/_emulator/customers/:id/card",
      params: { card: true },
      handle: ({ context, input, path }) => {
        const customer = context.store.customers.require(path.id ?? "");
        customer.card = cardFromNumber({ context, number: input.requiredString("card") });
        return json(renderCustomer(context, customer));
      },
    },
    {
      method: "POST",
      path: "/_emulator/events/replay",
      params: { times: true, shuffle: true },
      handle: async ({ input }) => {
        const times = input.integer("times") ?? 1;
        if (times < 1 || times > MAX_REPLAY_TIMES) {
          throw invalidRequest(`times must be between 1 and ${MAX_REPLAY_TIMES}.`, "times");
        }
        const deliveries = await delivery.replay({ times, shuffle: input.boolean("shuffle") ?? false });
        return json({ deliveries });
      },
    },
    {
      method: "GET",
      path: "/_emulator/events",
      params: {},
      handle: ({ context }) =>
        json({
          data: context.store.events.all().map((event) => ({
            id: event.id,
            type: event.type,
            created: event.created,
            settled: event.settled,
            request: event.request,
            deliveries: event.deliveries,
          })),
        }),
    },
  ];
}
