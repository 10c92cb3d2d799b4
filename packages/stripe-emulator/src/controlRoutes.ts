import { DEFAULT_EXPIRY_YEARS, readCard } from "./cards.js";
import { type CheckoutPayment, payCheckoutSession } from "./checkout.js";
import type { Context } from "./context.js";
import { runDueWork } from "./dueWork.js";
import { renderCheckoutSession, renderCustomer } from "./objects.js";
import { invalidRequest, type Params } from "./params.js";
import { json, type Route } from "./server.js";
import type { Card, CheckoutSessionRecord } from "./store.js";
import type { WebhookDelivery } from "./webhookDelivery.js";

const MAX_REPLAY_TIMES = 100;

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
export function controlRoutes({ delivery }: { delivery: WebhookDelivery }): Route[] {
  return [
    {
      method: "POST",
      path: "/_emulator/clock/advance",
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
      handle: ({ context }) => json({ now: context.now() }),
    },
    {
      method: "POST",
      path: "/_emulator/checkout/sessions/:id/pay",
      handle: ({ context, input, path }) => {
        const session = context.store.checkoutSessions.require(path.id ?? "");
        const payment = scriptedPayment({ context, session, input });
        return json(renderCheckoutSession(context, payCheckoutSession({ context, session, payment })));
      },
    },
    {
      method: "POST",
      path: "/_emulator/customers/:id/card",
      handle: ({ context, input, path }) => {
        const customer = context.store.customers.require(path.id ?? "");
        customer.card = cardFromNumber({ context, number: input.requiredString("card") });
        return json(renderCustomer(context, customer));
      },
    },
    {
      method: "POST",
      path: "/_emulator/events/replay",
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
