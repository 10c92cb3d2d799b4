import { signWebhookPayload } from "@meterline/stripe-emulator";
import fc from "fast-check";
import { sql } from "kysely";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { createApp } from "../../src/http/app.js";
import { describeEachEngine, expectError, makeOrg, makeTeam, signUp } from "../support/app.js";
import {
  advanceStripeClock,
  deliverWebhook,
  eventsOfCustomer,
  payCheckout,
  type RawEvent,
  seededRandom,
  shuffleDeliveries,
  subscribe,
} from "../support/stripe.js";

const DAY = 86_400_000;

describeEachEngine("plans and subscriptions", (ctx) => {
  async function customerOf(orgId: string): Promise<string> {
    const row = await ctx.db.kysely
      .selectFrom("stripe_customers")
      .select("customer_id")
      .where("org_id", "=", orgId)
      .executeTakeFirstOrThrow();
    return row.customer_id;
  }

  describe("GET /v1/plans", () => {
    it("lists the four plans with both intervals, quotas, features and credit tiers, without signing in", async () => {
      const response = await ctx.app.inject({ method: "GET", url: "/v1/plans" });
      expect(response.statusCode).toBe(200);
      const body = response.json();
      expect(body.plans.map((plan: { id: string }) => plan.id)).toEqual([
        "solo",
        "maker",
        "team",
        "enterprise",
      ]);
      const maker = body.plans[1];
      expect(maker).toEqual({
        id: "maker",
        name: "Maker",
        monthly: { price_cents: 3_900 },
        annual: { price_cents: 37_440, monthly_equivalent_cents: 3_120, discount_percent: 20 },
        quotas: { mau: 10_000, storage_gib: 3, bandwidth_gib: 250, build_minutes: 120, concurrent_builds: 3 },
        features: ["Community support", "Priority bug fixes"],
      });
      expect(body.credit_tiers.mau.tiers[0]).toEqual({ up_to: 1_000_000, price: "0.003000" });
      expect(body.credit_tiers.build_minutes.tiers.at(-1)).toEqual({ up_to: null, price: "0.040000" });
      expect(body.trial).toEqual({ days: 15, plan: "solo" });
    });
  });

  describe("trial", () => {
    it("puts a new organization on the Solo trial for 15 days", async () => {
      const owner = await signUp(ctx.app);
      const before = ctx.clock.now().getTime();
      const org = await makeOrg(owner);
      const response = await owner.request("GET", `/v1/orgs/${org.id}/subscription`);
      expect(response.statusCode).toBe(200);
      const body = response.json();
      expect(body).toMatchObject({
        id: null,
        source: "trial",
        plan: "solo",
        status: "trialing",
        interval: null,
      });
      const trialEnd = Date.parse(body.trial_ends_at);
      expect(trialEnd - before).toBeGreaterThanOrEqual(15 * DAY - 1_000);
      expect(trialEnd - before).toBeLessThan(15 * DAY + 60_000);
      expect(body.current_period_end).toBe(body.trial_ends_at);
    });
  });

  describe("subscribing", () => {
    it("subscribe → pay → webhook → active, through the emulator and the SDK", async () => {
      const owner = await signUp(ctx.app);
      const org = await makeOrg(owner);
      const checkout = await owner.request("POST", `/v1/orgs/${org.id}/checkout/subscription`, {
        plan: "maker",
        interval: "year",
      });
      expect(checkout.statusCode, checkout.body).toBe(200);
      const { checkout_url, session_id } = checkout.json();
      expect(checkout_url).toMatch(new RegExp(`^${ctx.stripeEmulator.url}/`));
      expect(session_id).toMatch(/^cs_/);

      // What Stripe was asked for comes from the catalog, and the org is on the session.
      const session = await ctx.stripe.sdk.checkout.sessions.retrieve(session_id, { expand: ["line_items"] });
      expect(session.mode).toBe("subscription");
      expect(session.client_reference_id).toBe(org.id);
      expect(session.customer).toBe(await customerOf(org.id));
      expect(session.line_items?.data[0]?.price?.unit_amount).toBe(37_440);
      expect(session.success_url).toContain(`${ctx.url}/plans?org=${org.id}`);

      // Nothing changes before payment.
      expect((await owner.request("GET", `/v1/orgs/${org.id}/subscription`)).json().source).toBe("trial");

      const page = await fetch(checkout_url);
      expect(await page.text()).toContain("374.40 USD");

      const paid = await payCheckout(ctx, session_id);
      expect(paid.status).toBe(200);
      const body = (await owner.request("GET", `/v1/orgs/${org.id}/subscription`)).json();
      expect(body).toMatchObject({
        source: "subscription",
        plan: "maker",
        interval: "year",
        status: "active",
      });
      expect(body.id).toMatch(/^sbs_/);
      expect(body.stripe_subscription_id).toMatch(/^sub_/);
      const start = Date.parse(body.current_period_start);
      const end = Date.parse(body.current_period_end);
      expect(end - start).toBeGreaterThanOrEqual(365 * DAY);
      expect(end - start).toBeLessThanOrEqual(366 * DAY);
      expect(body.cancel_at_period_end).toBe(false);
      expect(body.anchor_day).toBe(new Date(body.current_period_start).getUTCDate());
    });

    it("keeps one Stripe customer per organization and refuses a second subscription", async () => {
      const owner = await signUp(ctx.app);
      const org = await makeOrg(owner);
      const first = await owner.request("POST", `/v1/orgs/${org.id}/checkout/subscription`, {
        plan: "solo",
        interval: "month",
      });
      const second = await owner.request("POST", `/v1/orgs/${org.id}/checkout/subscription`, {
        plan: "team",
        interval: "month",
      });
      expect(second.statusCode).toBe(200);
      // The older session was expired: only the newest can be paid.
      const older = await ctx.stripe.sdk.checkout.sessions.retrieve(first.json().session_id);
      expect(older.status).toBe("expired");
      expect((await payCheckout(ctx, first.json().session_id)).status).toBeGreaterThanOrEqual(400);

      await payCheckout(ctx, second.json().session_id);
      const again = await owner.request("POST", `/v1/orgs/${org.id}/checkout/subscription`, {
        plan: "maker",
        interval: "month",
      });
      expectError(again, 409, "subscription_exists");
      const customers = await ctx.stripe.sdk.customers.list({ limit: 100 });
      expect(customers.data.filter((customer) => customer.metadata.org_id === org.id)).toHaveLength(1);
      const subscriptions = await ctx.stripe.sdk.subscriptions.list({
        customer: await customerOf(org.id),
        status: "all",
      });
      expect(subscriptions.data).toHaveLength(1);
    });

    it.each([
      { name: "an unknown plan", body: { plan: "platinum", interval: "month" }, field: "body.plan" },
      { name: "an unknown interval", body: { plan: "maker", interval: "week" }, field: "body.interval" },
      {
        name: "a price id",
        body: { plan: "maker", interval: "month", price: "price_123" },
        field: "body.price",
      },
      { name: "an amount", body: { plan: "maker", interval: "month", amount: 1 }, field: "body.amount" },
      { name: "a missing plan", body: { interval: "month" }, field: "body.plan" },
    ])("refuses $name, naming the field, and opens nothing", async ({ body, field }) => {
      const owner = await signUp(ctx.app);
      const org = await makeOrg(owner);
      const response = await owner.request("POST", `/v1/orgs/${org.id}/checkout/subscription`, body);
      const error = expectError(response, 400, "invalid_request");
      expect(error.message).toContain(field);
      const sessions = await ctx.db.kysely
        .selectFrom("checkout_sessions")
        .select("session_id")
        .where("org_id", "=", org.id)
        .execute();
      expect(sessions).toEqual([]);
    });

    it("lets owners and billing admins subscribe; admins and members may not", async () => {
      const team = await makeTeam(ctx.app);
      const choice = { plan: "solo", interval: "month" };
      for (const who of [team.admin, team.member]) {
        expectError(
          await who.request("POST", `/v1/orgs/${team.org.id}/checkout/subscription`, choice),
          403,
          "forbidden",
        );
      }
      const admin = await team.admin.request("GET", `/v1/orgs/${team.org.id}/subscription`);
      expect(admin.statusCode).toBe(200);
      expectError(await team.member.request("GET", `/v1/orgs/${team.org.id}/subscription`), 403, "forbidden");
      const billing = await team.billing_admin.request(
        "POST",
        `/v1/orgs/${team.org.id}/checkout/subscription`,
        choice,
      );
      expect(billing.statusCode).toBe(200);
    });

    it("leaves the subscription alone when the card is declined", async () => {
      const owner = await signUp(ctx.app);
      const org = await makeOrg(owner);
      const checkout = await owner.request("POST", `/v1/orgs/${org.id}/checkout/subscription`, {
        plan: "maker",
        interval: "month",
      });
      const declined = await payCheckout(ctx, checkout.json().session_id, { card: "4000000000000002" });
      expect(declined.status).toBe(402);
      expect((await owner.request("GET", `/v1/orgs/${org.id}/subscription`)).json().source).toBe("trial");
    });
  });

  describe("changing and canceling", () => {
    it("changes plan and interval on the same subscription, with proration", async () => {
      const owner = await signUp(ctx.app);
      const org = await makeOrg(owner);
      const { subscription } = await subscribe(ctx, owner, org.id, { plan: "maker", interval: "year" });

      const changed = await owner.request("POST", `/v1/orgs/${org.id}/subscription/change`, {
        plan: "team",
        interval: "year",
      });
      expect(changed.statusCode, changed.body).toBe(200);
      expect(changed.json()).toMatchObject({
        id: subscription.id,
        stripe_subscription_id: subscription.stripe_subscription_id,
        plan: "team",
        interval: "year",
        status: "active",
      });
      await ctx.stripeEmulator.idle();
      const stripeSubscriptions = await ctx.stripe.sdk.subscriptions.list({
        customer: await customerOf(org.id),
        status: "all",
      });
      expect(stripeSubscriptions.data.map((sub) => sub.id)).toEqual([subscription.stripe_subscription_id]);
      // The upgrade was invoiced now, for the difference over the rest of the period.
      const invoices = await ctx.stripe.sdk.invoices.list({ customer: await customerOf(org.id) });
      const proration = invoices.data.find((invoice) => invoice.billing_reason === "subscription_update");
      expect(proration?.amount_paid).toBeGreaterThan(0);
      expect(proration?.amount_paid).toBeLessThanOrEqual(95_040 - 37_440);

      // Asking again for the plan it is on changes nothing.
      const again = await owner.request("POST", `/v1/orgs/${org.id}/subscription/change`, {
        plan: "team",
        interval: "year",
      });
      expect(again.json()).toEqual(changed.json());

      const monthly = await owner.request("POST", `/v1/orgs/${org.id}/subscription/change`, {
        plan: "team",
        interval: "month",
      });
      expect(monthly.json()).toMatchObject({ id: subscription.id, plan: "team", interval: "month" });
    });

    it("applies every change asked, even back and forth within one period", async () => {
      const owner = await signUp(ctx.app);
      const org = await makeOrg(owner);
      await subscribe(ctx, owner, org.id, { plan: "solo", interval: "month" });
      const change = (plan: string) =>
        owner.request("POST", `/v1/orgs/${org.id}/subscription/change`, { plan, interval: "month" });
      expect((await change("team")).json().plan).toBe("team");
      expect((await change("solo")).json().plan).toBe("solo");
      expect((await change("team")).json().plan).toBe("team");
      // Changing to the plan it is on withdraws a pending cancellation.
      await owner.request("POST", `/v1/orgs/${org.id}/subscription/cancel`);
      const kept = await change("team");
      expect(kept.json()).toMatchObject({ plan: "team", cancel_at_period_end: false });
      const facts = await ctx.stripe.retrieveSubscription(kept.json().stripe_subscription_id);
      expect(facts).toMatchObject({ plan: "team", cancelAtPeriodEnd: false });
    });

    it("refuses an upgrade whose payment fails, and keeps the plan", async () => {
      const owner = await signUp(ctx.app);
      const org = await makeOrg(owner);
      await subscribe(ctx, owner, org.id, { plan: "solo", interval: "month", card: "4000000000000341" });
      const upgrade = await owner.request("POST", `/v1/orgs/${org.id}/subscription/change`, {
        plan: "enterprise",
        interval: "month",
      });
      expectError(upgrade, 402, "payment_failed");
      await ctx.stripeEmulator.idle();
      expect((await owner.request("GET", `/v1/orgs/${org.id}/subscription`)).json()).toMatchObject({
        plan: "solo",
        status: "active",
      });
    });

    it("decides on Stripe's state when the last webhook has not arrived", async () => {
      const owner = await signUp(ctx.app);
      const org = await makeOrg(owner);
      const { subscription } = await subscribe(ctx, owner, org.id, { plan: "maker", interval: "month" });
      // Meterline believes a cancellation is pending; Stripe does not (the customer kept it).
      await ctx.db.kysely
        .updateTable("subscriptions")
        .set({ cancel_at_period_end: true })
        .where("org_id", "=", org.id)
        .execute();
      const canceled = await owner.request("POST", `/v1/orgs/${org.id}/subscription/cancel`);
      expect(canceled.json().cancel_at_period_end).toBe(true);
      expect(
        (await ctx.stripe.retrieveSubscription(subscription.stripe_subscription_id)).cancelAtPeriodEnd,
      ).toBe(true);

      // Ended in Stripe, still active here: a change is refused as such, not as a failure.
      await ctx.stripe.sdk.subscriptions.cancel(subscription.stripe_subscription_id);
      await ctx.db.kysely
        .updateTable("subscriptions")
        .set({ status: "active" })
        .where("org_id", "=", org.id)
        .execute();
      expectError(
        await owner.request("POST", `/v1/orgs/${org.id}/subscription/change`, {
          plan: "team",
          interval: "month",
        }),
        409,
        "no_subscription",
      );
    });

    it("lets only one of two checkouts raced together be paid", async () => {
      const owner = await signUp(ctx.app);
      const org = await makeOrg(owner);
      const [first, second] = await Promise.all(
        ["solo", "team"].map((plan) =>
          owner.request("POST", `/v1/orgs/${org.id}/checkout/subscription`, { plan, interval: "month" }),
        ),
      );
      expect([first?.statusCode, second?.statusCode]).toEqual([200, 200]);
      const paid = await Promise.all(
        [first, second].map((response) => payCheckout(ctx, response?.json().session_id)),
      );
      expect(paid.map((response) => response.status).filter((status) => status === 200)).toHaveLength(1);
      const subscriptions = await ctx.stripe.sdk.subscriptions.list({
        customer: await customerOf(org.id),
        status: "all",
      });
      expect(subscriptions.data).toHaveLength(1);
    });

    it("refuses a change without a subscription", async () => {
      const owner = await signUp(ctx.app);
      const org = await makeOrg(owner);
      expectError(
        await owner.request("POST", `/v1/orgs/${org.id}/subscription/change`, {
          plan: "team",
          interval: "year",
        }),
        409,
        "no_subscription",
      );
      expectError(
        await owner.request("POST", `/v1/orgs/${org.id}/subscription/cancel`),
        409,
        "no_subscription",
      );
    });

    it("cancels at period end: the plan serves until then, then the subscription ends", async () => {
      const owner = await signUp(ctx.app);
      const org = await makeOrg(owner);
      await subscribe(ctx, owner, org.id, { plan: "solo", interval: "month" });
      const canceled = await owner.request("POST", `/v1/orgs/${org.id}/subscription/cancel`);
      expect(canceled.json()).toMatchObject({ plan: "solo", status: "active", cancel_at_period_end: true });
      expect((await owner.request("POST", `/v1/orgs/${org.id}/subscription/cancel`)).json()).toEqual(
        canceled.json(),
      );

      await advanceStripeClock(ctx, 32 * 86_400);
      const row = await ctx.db.kysely
        .selectFrom("subscriptions")
        .select(["status", "plan"])
        .where("org_id", "=", org.id)
        .executeTakeFirstOrThrow();
      expect(row).toEqual({ status: "canceled", plan: "solo" });
      // The trial of this young org still runs, so that is what serves now.
      expect((await owner.request("GET", `/v1/orgs/${org.id}/subscription`)).json().source).toBe("trial");
    });

    it("gives a billing portal link for the org's customer", async () => {
      const owner = await signUp(ctx.app);
      const org = await makeOrg(owner);
      const response = await owner.request("POST", `/v1/orgs/${org.id}/billing-portal`);
      expect(response.statusCode).toBe(200);
      const { url } = response.json();
      expect(url).toMatch(new RegExp(`^${ctx.stripeEmulator.url}/`));
      expect((await fetch(url)).status).toBe(200);
    });
  });

  describe("past due", () => {
    it("keeps serving through the grace period when a renewal fails, and recovers when paid", async () => {
      const owner = await signUp(ctx.app);
      const org = await makeOrg(owner);
      await subscribe(ctx, owner, org.id, { plan: "maker", interval: "month", card: "4000000000000341" });
      await advanceStripeClock(ctx, 32 * 86_400);
      const pastDue = (await owner.request("GET", `/v1/orgs/${org.id}/subscription`)).json();
      expect(pastDue).toMatchObject({ source: "subscription", plan: "maker", status: "past_due" });
      expect(Date.parse(pastDue.grace_ends_at) - ctx.clock.now().getTime()).toBeGreaterThan(6 * DAY);

      const card = await fetch(
        `${ctx.stripeEmulator.url}/_emulator/customers/${await customerOf(org.id)}/card`,
        {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ card: "4242424242424242" }),
        },
      );
      expect(card.status).toBe(200);
      await advanceStripeClock(ctx, 4 * 86_400);
      const recovered = (await owner.request("GET", `/v1/orgs/${org.id}/subscription`)).json();
      expect(recovered).toMatchObject({ plan: "maker", status: "active", grace_ends_at: null });
    });
  });

  describe("webhook", () => {
    /** Forgets everything the webhook taught Meterline about the org, as if no event had arrived. */
    async function forgetEvents(orgId: string, events: RawEvent[]) {
      const ids = events.map((event) => event.id);
      await ctx.db.kysely.deleteFrom("stripe_events").where("event_id", "in", ids).execute();
      await ctx.db.kysely.deleteFrom("subscriptions").where("org_id", "=", orgId).execute();
    }

    async function stateOf(owner: Awaited<ReturnType<typeof signUp>>, orgId: string) {
      const { id: _ours, ...rest } = (await owner.request("GET", `/v1/orgs/${orgId}/subscription`)).json();
      return rest;
    }

    it("converges to the same state when each event comes 1–5 times in any order", async () => {
      const owner = await signUp(ctx.app);
      const org = await makeOrg(owner);
      // Live, too: Stripe's own deliveries shuffled and late from the first event on.
      await shuffleDeliveries(ctx, { shuffle: true, maxDelayMs: 150 });
      try {
        await subscribe(ctx, owner, org.id, { plan: "maker", interval: "year" });
        const changed = await owner.request("POST", `/v1/orgs/${org.id}/subscription/change`, {
          plan: "team",
          interval: "year",
        });
        expect(changed.statusCode, changed.body).toBe(200);
        const canceled = await owner.request("POST", `/v1/orgs/${org.id}/subscription/cancel`);
        expect(canceled.statusCode, canceled.body).toBe(200);
        await ctx.stripeEmulator.idle();
      } finally {
        await shuffleDeliveries(ctx, { shuffle: false });
      }
      const expected = await stateOf(owner, org.id);
      expect(expected).toMatchObject({ plan: "team", interval: "year", cancel_at_period_end: true });
      const events = await eventsOfCustomer(ctx, await customerOf(org.id));
      expect(events.map((event) => event.type)).toEqual(
        expect.arrayContaining([
          "checkout.session.completed",
          "customer.subscription.created",
          "invoice.paid",
        ]),
      );

      await fc.assert(
        fc.asyncProperty(fc.integer(), async (seed) => {
          await forgetEvents(org.id, events);
          const random = seededRandom(seed);
          const deliveries = events.flatMap((event) =>
            Array.from({ length: 1 + Math.floor(random() * 5) }, () => event),
          );
          deliveries.sort(() => random() - 0.5);
          const seen = new Set<string>();
          for (const event of deliveries) {
            const response = await deliverWebhook(ctx, event.payload);
            expect(response.statusCode, response.body).toBe(200);
            expect(response.json().duplicate).toBe(seen.has(event.id));
            seen.add(event.id);
          }
          expect(await stateOf(owner, org.id)).toEqual(expected);
        }),
        { numRuns: 3 },
      );
    });

    it("rejects forged, re-serialized and stale deliveries with no effect", async () => {
      const owner = await signUp(ctx.app);
      const org = await makeOrg(owner);
      await subscribe(ctx, owner, org.id, { plan: "maker", interval: "month" });
      const events = await eventsOfCustomer(ctx, await customerOf(org.id));
      const created = events.find((event) => event.type === "customer.subscription.created");
      if (!created) throw new Error("no customer.subscription.created event");
      await forgetEvents(org.id, events);
      const now = Math.floor(ctx.clock.now().getTime() / 1000);
      const reserialized = JSON.stringify(JSON.parse(created.payload), null, 2);
      const genuine = signWebhookPayload({
        payload: created.payload,
        secret: ctx.webhookSecret,
        timestamp: now,
      });
      // One byte of the body changed under the genuine signature: a digit of the event's time.
      const at = created.payload.indexOf('"created":') + '"created":'.length;
      const digit = created.payload.charAt(at + 1);
      const oneByte = `${created.payload.slice(0, at + 1)}${digit === "9" ? "8" : "9"}${created.payload.slice(at + 2)}`;
      expect(oneByte).not.toBe(created.payload);
      expect(oneByte.length).toBe(created.payload.length);
      const attempts = [
        { name: "unsigned", send: () => deliverWebhook(ctx, created.payload, { header: "" }) },
        {
          name: "wrong secret",
          send: () => deliverWebhook(ctx, created.payload, { secret: "whsec_forged" }),
        },
        {
          name: "re-serialized body",
          send: () =>
            deliverWebhook(ctx, reserialized, {
              header: signWebhookPayload({
                payload: created.payload,
                secret: ctx.webhookSecret,
                timestamp: now,
              }),
            }),
        },
        { name: "one byte changed", send: () => deliverWebhook(ctx, oneByte, { header: genuine }) },
        { name: "301 s old", send: () => deliverWebhook(ctx, created.payload, { timestamp: now - 301 }) },
        { name: "301 s ahead", send: () => deliverWebhook(ctx, created.payload, { timestamp: now + 301 }) },
      ];
      for (const attempt of attempts) {
        const response = await attempt.send();
        expect(response.statusCode, attempt.name).toBe(400);
        expect(response.json().error.code, attempt.name).toBe("invalid_signature");
      }
      const processed = await ctx.db.kysely
        .selectFrom("stripe_events")
        .select("event_id")
        .where("event_id", "=", created.id)
        .execute();
      expect(processed).toEqual([]);
      expect((await owner.request("GET", `/v1/orgs/${org.id}/subscription`)).json().source).toBe("trial");

      // 299 s old is inside the tolerance.
      const fresh = await deliverWebhook(ctx, created.payload, { timestamp: now - 299 });
      expect(fresh.statusCode).toBe(200);
      expect(fresh.json()).toEqual({ received: true, duplicate: false });
      const subscribed = (await owner.request("GET", `/v1/orgs/${org.id}/subscription`)).json();
      expect(subscribed.plan).toBe("maker");

      // The same event id again, however well signed, is a no-op 200.
      const replay = await deliverWebhook(ctx, created.payload);
      expect(replay.statusCode).toBe(200);
      expect(replay.json()).toEqual({ received: true, duplicate: true });
      expect((await owner.request("GET", `/v1/orgs/${org.id}/subscription`)).json()).toEqual(subscribed);
    });

    it("accepts both the old and the new secret while a secret is rotated", async () => {
      const oldSecret = `whsec_old_${Date.now()}`;
      const rotating = await createApp({
        // The app is handed the suite's database; the config's own is never opened.
        config: loadConfig({ NODE_ENV: "test", LOG_LEVEL: "silent", PUBLIC_URL: ctx.url }),
        db: ctx.db,
        clock: ctx.clock,
        logger: pino({ level: "silent" }),
        stripe: { gateway: ctx.stripe, webhookSecrets: [oldSecret, ctx.webhookSecret] },
        entitlements: ctx.entitlements,
      });
      try {
        const owner = await signUp(ctx.app);
        const org = await makeOrg(owner);
        await subscribe(ctx, owner, org.id, { plan: "maker", interval: "month" });
        const events = await eventsOfCustomer(ctx, await customerOf(org.id));
        const [first, second] = events;
        if (!first || !second) throw new Error("expected two events");
        await forgetEvents(org.id, events);
        const send = (payload: string, secret: string) =>
          rotating.inject({
            method: "POST",
            url: "/v1/webhooks/stripe",
            headers: {
              "content-type": "application/json",
              "stripe-signature": signWebhookPayload({
                payload,
                secret,
                timestamp: Math.floor(ctx.clock.now().getTime() / 1000),
              }),
            },
            payload,
          });
        expect((await send(first.payload, oldSecret)).json()).toEqual({ received: true, duplicate: false });
        expect((await send(second.payload, ctx.webhookSecret)).json()).toEqual({
          received: true,
          duplicate: false,
        });
        expect((await send(first.payload, ctx.webhookSecret)).json()).toEqual({
          received: true,
          duplicate: true,
        });
        expect((await send(first.payload, "whsec_neither")).statusCode).toBe(400);
      } finally {
        await rotating.close();
      }
    });

    it("accepts an event for no known organization and records it once", async () => {
      const payload = JSON.stringify({
        id: `evt_unknown_${Date.now()}`,
        object: "event",
        type: "customer.subscription.updated",
        created: Math.floor(Date.now() / 1000),
        data: { object: { id: "sub_x", object: "subscription", customer: "cus_nobody" } },
      });
      expect((await deliverWebhook(ctx, payload)).json()).toEqual({ received: true, duplicate: false });
      expect((await deliverWebhook(ctx, payload)).json()).toEqual({ received: true, duplicate: true });
    });

    it("refuses a signed body that is not an event, and records nothing", async () => {
      const count = async () =>
        Number(
          (await sql<{ n: string }>`select count(*)::text as n from stripe_events`.execute(ctx.db.kysely))
            .rows[0]?.n,
        );
      const before = await count();
      const response = await deliverWebhook(ctx, JSON.stringify({ id: "evt_x", hello: "world" }));
      expectError(response, 400, "invalid_request");
      expect(await count()).toBe(before);
    });
  });

  describe("contact sales", () => {
    it("stores a request for a custom plan", async () => {
      const team = await makeTeam(ctx.app);
      const message = "We expect 40M MAU.\nCan we talk about a custom plan?";
      const response = await team.admin.request("POST", `/v1/orgs/${team.org.id}/contact-sales`, { message });
      expect(response.statusCode, response.body).toBe(201);
      expect(response.json()).toMatchObject({ message });
      const stored = await ctx.db.kysely
        .selectFrom("contact_requests")
        .select(["message", "user_id"])
        .where("org_id", "=", team.org.id)
        .execute();
      expect(stored).toEqual([{ message, user_id: team.admin.user.id }]);
      expectError(
        await team.member.request("POST", `/v1/orgs/${team.org.id}/contact-sales`, { message }),
        403,
        "forbidden",
      );
      expectError(
        await team.owner.request("POST", `/v1/orgs/${team.org.id}/contact-sales`, { message: "" }),
        400,
        "invalid_request",
      );
    });
  });
});
