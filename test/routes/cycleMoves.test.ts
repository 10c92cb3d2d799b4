import { expect, it } from "vitest";
import { createApiKey } from "../../src/services/accounts/apiKeys.js";
import { Browser, describeEachEngine, makeOrg, sessionCookieOf, signUp } from "../support/app.js";
import { advanceStripeClock, subscribe } from "../support/stripe.js";

const GIB = 2 ** 30;
const DAY = 86_400_000;

/**
 * The billing cycle moves when a subscription starts, ends or has its period reset; what was
 * counted and charged in the running cycle must move with it, so no usage is charged twice and
 * none is forgotten (SPEC §4: the cycle's overage cost minus what was already deducted).
 */
describeEachEngine("overage when the billing cycle moves", (ctx) => {
  /** The 15th of this month at noon UTC: a subscription started then anchors on the 15th. */
  function fifteenth(): Date {
    const now = new Date();
    return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 15, 12));
  }

  function setClock(at: Date) {
    ctx.clock.offsetMs = at.getTime() - Date.now();
  }

  async function setup(credits: string) {
    const owner = await signUp(ctx.app);
    const org = await makeOrg(owner, { country: "US" });
    const { key } = await createApiKey({
      db: ctx.db.kysely,
      orgId: null,
      name: "ops",
      scopes: ["admin", "usage:write"],
      createdBy: null,
      now: new Date(),
    });
    const granted = await ctx.app.inject({
      method: "POST",
      url: `/v1/admin/orgs/${org.id}/credits/grants`,
      headers: { authorization: `Bearer ${key}` },
      payload: { amount: credits, note: "test" },
    });
    expect(granted.statusCode, granted.body).toBe(201);
    return { owner, org, key };
  }

  async function signIn(person: Browser): Promise<Browser> {
    const response = await ctx.app.inject({
      method: "POST",
      url: "/v1/auth/login",
      payload: { email: person.user.email, password: "correct horse battery" },
    });
    expect(response.statusCode, response.body).toBe(200);
    return new Browser(ctx.app, person.user, sessionCookieOf(response), response.json().csrf_token);
  }

  let sent = 0;
  async function bandwidth(key: string, orgId: string, gib: number) {
    const response = await ctx.app.inject({
      method: "POST",
      url: "/v1/usage/events",
      headers: { authorization: `Bearer ${key}` },
      payload: {
        events: [
          {
            id: `bw-${++sent}`,
            org_id: orgId,
            app_id: "app",
            metric: "bandwidth",
            value: String(BigInt(gib) * BigInt(GIB)),
            timestamp: ctx.clock.now().toISOString(),
          },
        ],
      },
    });
    expect(response.json()).toMatchObject({ accepted: 1 });
    await ctx.overage.idle();
  }

  /** The figures once charging has caught up: the ledger holds `deductions`, newest first. */
  async function charged(owner: Browser, orgId: string, deductions: string[]) {
    const deadline = Date.now() + 5_000;
    let read = await figures(owner, orgId);
    while (JSON.stringify(read.deductions) !== JSON.stringify(deductions) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      read = await figures(owner, orgId);
    }
    expect(read.deductions).toEqual(deductions);
    // Nothing more comes once the background charging has run.
    await ctx.overage.idle();
    return figures(owner, orgId);
  }

  async function figures(owner: Browser, orgId: string) {
    await ctx.overage.idle();
    const credits = (await owner.request("GET", `/v1/orgs/${orgId}/credits`)).json();
    const usage = (await owner.request("GET", `/v1/orgs/${orgId}/usage`)).json();
    const { items } = (await owner.request("GET", `/v1/orgs/${orgId}/credits/transactions`)).json();
    const deductions = items
      .filter((item: { type: string }) => item.type === "deduction")
      .map((item: { amount: string }) => item.amount);
    return { credits, usage, deductions };
  }

  it("a trial that subscribes mid-month is not charged again for the overage it already paid", async () => {
    setClock(fifteenth());
    try {
      const { owner, org, key } = await setup("50");
      // 100 GiB on the Solo trial (13 GiB included): 87 GiB × 0.06 = 5.22 credits.
      await bandwidth(key, org.id, 100);
      await charged(owner, org.id, ["-5.220000"]);

      const { subscription } = await subscribe(ctx, owner, org.id, { plan: "solo", interval: "month" });
      expect(subscription).toMatchObject({ plan: "solo", status: "active", anchor_day: 15 });
      const after = await charged(owner, org.id, ["-5.220000"]);
      expect(after.credits).toMatchObject({ available: "44.780000", used_this_cycle: "5.220000" });
      expect(after.usage.metrics.bandwidth).toMatchObject({ overage_cost: "5.220000" });
      // The running cycle kept its start and runs on to the first renewal.
      const start = new Date(Date.UTC(fifteenth().getUTCFullYear(), fifteenth().getUTCMonth(), 1));
      expect(after.usage.cycle.start).toBe(start.toISOString());
      expect(after.usage.cycle.end.slice(0, 10)).toBe(subscription.current_period_end.slice(0, 10));

      // Usage after the change is charged once, on top of what was paid.
      await bandwidth(key, org.id, 10);
      const more = await charged(owner, org.id, ["-0.600000", "-5.220000"]);
      expect(more.credits).toMatchObject({ available: "44.180000", used_this_cycle: "5.820000" });
      expect(more.usage.metrics.bandwidth).toMatchObject({ overage_cost: "5.820000" });
    } finally {
      ctx.clock.offsetMs = 0;
    }
  });

  it("what was owed when the trial subscribes is taken when credits come, not forgotten", async () => {
    setClock(fifteenth());
    try {
      const { owner, org, key } = await setup("1");
      // 5.22 credits due, 1 available: 4.22 owed.
      await bandwidth(key, org.id, 100);
      await charged(owner, org.id, ["-1.000000"]);
      await subscribe(ctx, owner, org.id, { plan: "solo", interval: "month" });
      const granted = await ctx.app.inject({
        method: "POST",
        url: `/v1/admin/orgs/${org.id}/credits/grants`,
        headers: { authorization: `Bearer ${key}` },
        payload: { amount: "10", note: "top-up" },
      });
      expect(granted.statusCode).toBe(201);
      const after = await charged(owner, org.id, ["-4.220000", "-1.000000"]);
      expect(after.credits).toMatchObject({ available: "5.780000", used_this_cycle: "5.220000" });
      expect(after.usage.metrics.bandwidth).toMatchObject({ overage_cost: "5.220000" });
    } finally {
      ctx.clock.offsetMs = 0;
    }
  });

  it("a subscription that ends at its period's end does not charge its last cycle's usage again", async () => {
    setClock(fifteenth());
    try {
      let { owner, org, key } = await setup("50");
      const { subscription } = await subscribe(ctx, owner, org.id, { plan: "solo", interval: "month" });
      // Early next month, still in the paid cycle: 20 GiB, 7 over Solo's 13 = 0.42 credits.
      setClock(new Date(new Date(subscription.current_period_end).getTime() - 10 * DAY));
      await bandwidth(key, org.id, 20);
      await charged(owner, org.id, ["-0.420000"]);
      expect((await owner.request("POST", `/v1/orgs/${org.id}/subscription/cancel`)).statusCode).toBe(200);
      // Its webhooks are handled at today's date before the clock moves on.
      await ctx.stripeEmulator.idle();

      // The period ends; Stripe ends the subscription; cycles follow calendar months again.
      setClock(new Date(new Date(subscription.current_period_end).getTime() + 3_600_000));
      await advanceStripeClock(ctx, 0);
      // Sessions last 30 days: the owner signs in again a month later.
      owner = await signIn(owner);
      const ended = await owner.request("GET", `/v1/orgs/${org.id}/subscription`);
      expect(ended.json(), ended.body).toMatchObject({ status: "canceled" });
      const after = await charged(owner, org.id, ["-0.420000"]);
      expect(after.credits).toMatchObject({ available: "49.580000", used_this_cycle: "0.000000" });
      // The new cycle starts where the paid one ended, not on the 1st, which would recount its days.
      expect(after.usage.cycle.start.slice(0, 10)).toBe(subscription.current_period_end.slice(0, 10));
      expect(after.usage.metrics.bandwidth).toMatchObject({ used: 0 });
    } finally {
      ctx.clock.offsetMs = 0;
    }
  });

  it("a change of interval that resets the period keeps the running cycle and what it charged", async () => {
    setClock(fifteenth());
    try {
      const { owner, org, key } = await setup("50");
      await subscribe(ctx, owner, org.id, { plan: "solo", interval: "month" });
      await bandwidth(key, org.id, 100);
      await charged(owner, org.id, ["-5.220000"]);

      // Five days later, yearly billing: Stripe restarts the period, anchored on the 20th.
      setClock(new Date(fifteenth().getTime() + 5 * DAY));
      const changed = await owner.request("POST", `/v1/orgs/${org.id}/subscription/change`, {
        plan: "solo",
        interval: "year",
      });
      expect(changed.statusCode, changed.body).toBe(200);
      expect(changed.json()).toMatchObject({ interval: "year", anchor_day: 20 });
      const after = await charged(owner, org.id, ["-5.220000"]);
      expect(after.credits).toMatchObject({ used_this_cycle: "5.220000" });
      const month = fifteenth();
      expect(after.usage.cycle).toEqual({
        start: new Date(Date.UTC(month.getUTCFullYear(), month.getUTCMonth(), 1)).toISOString(),
        end: new Date(Date.UTC(month.getUTCFullYear(), month.getUTCMonth() + 1, 20)).toISOString(),
      });
    } finally {
      ctx.clock.offsetMs = 0;
    }
  });
});
