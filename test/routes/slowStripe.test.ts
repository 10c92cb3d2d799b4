import { expect, it } from "vitest";
import { describeEachEngine, makeTeam, usageKey } from "../support/app.js";
import { deliverWebhook, subscribe } from "../support/stripe.js";

/**
 * No transaction waits on Stripe: while a plan change or a webhook waits seconds for Stripe, the
 * database keeps serving. On PGlite, with its one connection, a transaction held across a Stripe
 * call would make every other request wait for it.
 */
describeEachEngine("a slow Stripe", (ctx) => {
  const STRIPE_LATENCY_MS = 3_000;

  async function slowStripe<T>(work: () => Promise<T>): Promise<T> {
    await setLatency(STRIPE_LATENCY_MS);
    try {
      return await work();
    } finally {
      await setLatency(0);
    }
  }

  async function setLatency(ms: number): Promise<void> {
    const response = await fetch(`${ctx.stripeEmulator.url}/_emulator/latency`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ms }),
    });
    expect(response.status).toBe(200);
  }

  /** Posts one usage event for the organization, answering how long the API took to accept it. */
  async function timeUsageBatch(key: string, orgId: string): Promise<number> {
    const started = performance.now();
    const response = await ctx.app.inject({
      method: "POST",
      url: "/v1/usage/events",
      headers: { authorization: `Bearer ${key}` },
      payload: {
        events: [
          {
            id: `slow-stripe-${started}`,
            org_id: orgId,
            app_id: "app",
            metric: "mau",
            device_id: `device-${started}`,
            timestamp: ctx.clock.now().toISOString(),
          },
        ],
      },
    });
    expect(response.json()).toMatchObject({ accepted: 1 });
    return performance.now() - started;
  }

  /** Starts `slow`, lets it reach Stripe, then times a usage batch while it waits there. */
  async function usageWhile(slow: () => Promise<{ statusCode: number }>, key: string, orgId: string) {
    const started = performance.now();
    const pending = slow();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const usageMs = await timeUsageBatch(key, orgId);
    const response = await pending;
    const slowMs = performance.now() - started;
    console.info(
      `usage batch ${usageMs.toFixed(1)} ms while Stripe was slow; the slow request took ${slowMs.toFixed(0)} ms`,
    );
    return { usageMs, slowMs, status: response.statusCode };
  }

  it("answers a usage batch in under 500 ms while a plan change waits 3 s for Stripe", async () => {
    const { org, owner } = await makeTeam(ctx.app);
    await subscribe(ctx, owner, org.id, { plan: "solo", interval: "month" });
    const change = (plan: string) =>
      owner.request("POST", `/v1/orgs/${org.id}/subscription/change`, { plan, interval: "month" });
    // Once at full speed, so both plans' prices are known and the slow change asks Stripe only
    // about the subscription.
    expect((await change("maker")).statusCode).toBe(200);
    const key = await usageKey(ctx.db, org.id);
    const { usageMs, slowMs, status } = await slowStripe(() => usageWhile(() => change("solo"), key, org.id));
    expect(status).toBe(200);
    // The change really waited on Stripe while the batch was answered.
    expect(slowMs).toBeGreaterThan(STRIPE_LATENCY_MS);
    expect(usageMs).toBeLessThan(500);
    expect((await owner.request("GET", `/v1/orgs/${org.id}/subscription`)).json().plan).toBe("solo");
  }, 60_000);

  it("answers a usage batch in under 500 ms while a webhook waits 3 s for Stripe", async () => {
    const { org, owner } = await makeTeam(ctx.app);
    const { subscription } = await subscribe(ctx, owner, org.id, { plan: "solo", interval: "month" });
    const customer = await ctx.db.kysely
      .selectFrom("stripe_customers")
      .select("customer_id")
      .where("org_id", "=", org.id)
      .executeTakeFirstOrThrow();
    const key = await usageKey(ctx.db, org.id);
    const payload = JSON.stringify({
      id: `evt_slow_${Date.now()}`,
      object: "event",
      type: "customer.subscription.updated",
      created: Math.floor(ctx.clock.now().getTime() / 1000),
      data: {
        object: {
          id: subscription.stripe_subscription_id,
          object: "subscription",
          customer: customer.customer_id,
        },
      },
    });
    const { usageMs, slowMs, status } = await slowStripe(() =>
      usageWhile(() => deliverWebhook(ctx, payload), key, org.id),
    );
    expect(status).toBe(200);
    expect(slowMs).toBeGreaterThan(STRIPE_LATENCY_MS);
    expect(usageMs).toBeLessThan(500);
  }, 60_000);
});
