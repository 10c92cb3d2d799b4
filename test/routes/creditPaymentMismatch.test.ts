import { expect, it } from "vitest";
import { describeEachEngine, expectError, makeTeam } from "../support/app.js";
import { payCheckout } from "../support/stripe.js";

/**
 * A credit Checkout Session Stripe says was paid, for other amounts than Meterline asked: what
 * the webhook, the browser's return, support and the logs see. The app's error logs are read.
 */
describeEachEngine(
  "a paid credit checkout that is not what was asked",
  (ctx) => {
    it("grants nothing for a paid checkout whose amount is not what was asked: Stripe hears 200, support is told once, the browser's return hears it needs support", async () => {
      const team = await makeTeam(ctx.app);
      const { session_id } = (
        await team.owner.request("POST", `/v1/orgs/${team.org.id}/checkout/credits`, { amount: 100 })
      ).json();
      // Paid 5.00 USD for 100 credits at 1.00 USD each, as a tampered session would be.
      const paid = await payCheckout(ctx, session_id, {
        card: "4242424242424242",
        country: "US",
        amount_subtotal: 500,
      });
      expect(paid.status, await paid.text()).toBe(200);
      const session = await ctx.stripe.sdk.checkout.sessions.retrieve(session_id);
      expect([session.status, session.payment_status, session.amount_subtotal]).toEqual([
        "complete",
        "paid",
        500,
      ]);

      // The webhook answered the delivery 200, so Stripe has nothing to retry.
      const completed = (
        await ctx.stripe.sdk.events.list({ type: "checkout.session.completed", limit: 100 })
      ).data.find((event) => (event.data.object as { id: string }).id === session_id);
      const deliveries = async () => {
        const listing = (await (await fetch(`${ctx.stripeEmulator.url}/_emulator/events`)).json()) as {
          data: { id: string; deliveries: { status: number | null }[] }[];
        };
        const events = listing.data;
        return events
          .find((event) => event.id === completed?.id)
          ?.deliveries.map((attempt) => attempt.status);
      };
      expect(await deliveries()).toEqual([200]);

      const nothing = async () => {
        const figures = (await team.owner.request("GET", `/v1/orgs/${team.org.id}/credits`)).json();
        expect(figures).toMatchObject({ available: "0.000000", total: "0.000000" });
        const ledger = (
          await team.owner.request("GET", `/v1/orgs/${team.org.id}/credits/transactions`)
        ).json();
        expect(ledger.items).toEqual([]);
      };
      await nothing();

      // What was asked and what was paid, recorded.
      const recorded = await ctx.db.kysely
        .selectFrom("credit_payment_mismatches")
        .selectAll()
        .where("org_id", "=", team.org.id)
        .execute();
      expect(recorded).toEqual([
        expect.objectContaining({
          session_id,
          asked_subtotal_cents: 10_000n,
          asked_currency: "usd",
          paid_quantity: 100n,
          paid_unit_amount_cents: 100n,
          paid_subtotal_cents: 500n,
          paid_total_cents: 500n,
          problem: "the subtotal is 5.00 USD, not 100.00 USD for 100 credits",
        }),
      ]);

      // The browser's return: a clear refusal, not a server error, as often as it comes.
      for (let i = 0; i < 2; i++) {
        const back = await team.owner.request("POST", `/v1/orgs/${team.org.id}/credits/complete`, {
          session_id,
        });
        expect(expectError(back, 409, "payment_mismatch").message).toContain("This payment needs support");
      }

      // Stripe delivering everything again changes nothing.
      const replay = await fetch(`${ctx.stripeEmulator.url}/_emulator/events/replay`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ times: 2 }),
      });
      expect(replay.status).toBe(200);
      await ctx.stripeEmulator.idle();
      await nothing();

      // One alert, at error level, naming the session and both amounts.
      const alerts = ctx.logs.filter((line) => line.session === session_id);
      expect(alerts).toEqual([
        expect.objectContaining({
          level: 50,
          org_id: team.org.id,
          asked_subtotal_cents: 10_000,
          paid_subtotal_cents: 500,
          paid_total_cents: 500,
          msg: "paid credit checkout does not match what was asked: nothing granted, support emailed",
        }),
      ]);

      // One email, to support only, saying what to do; no receipt to the customer.
      await ctx.emails.wake();
      const emails = (await team.owner.request("GET", `/v1/orgs/${team.org.id}/emails`)).json().items;
      expect(emails).toHaveLength(1);
      expect(emails[0]).toMatchObject({
        kind: "credit_payment_mismatch",
        recipients: [ctx.config.mail.supportEmail],
        subject: "Payment needs support: Acme's credit purchase was paid for other amounts than asked",
      });
      expect(emails[0].text).toContain(`Checkout Session ${session_id}`);
      expect(emails[0].text).toContain("Asked: 100 credits at 1.00 USD each: 100.00 USD plus tax.");
      expect(emails[0].text).toContain("Paid: quantity 100 at 1.00 USD: subtotal 5.00 USD, total 5.00 USD.");
    });
  },
  { logLevel: "error" },
);
