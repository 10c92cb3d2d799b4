import { signWebhookPayload } from "@meterline/stripe-emulator";
import { sql } from "kysely";
import { expect, it } from "vitest";
import { inTransaction } from "../src/db/transaction.js";
import { ServerProcess } from "./reliability/serverProcess.js";
import { describeEachEngine, makeTeam } from "./support/app.js";
import { eventsOfCustomer } from "./support/stripe.js";

// Races need several connections: these run on PostgreSQL (PGlite is one connection).
describeEachEngine("races between processes", (ctx) => {
  it.runIf(ctx.engine === "postgres")(
    "runs a transaction again when PostgreSQL breaks a deadlock, so neither caller sees it",
    async () => {
      const db = ctx.db.kysely;
      await sql`CREATE TABLE IF NOT EXISTS race_rows (id int PRIMARY KEY, n int NOT NULL)`.execute(db);
      await sql`INSERT INTO race_rows VALUES (1, 0), (2, 0) ON CONFLICT (id) DO UPDATE SET n = 0`.execute(db);
      let attempts = 0;
      let bothHoldOne: () => void = () => {};
      const holding = new Promise<void>((resolve) => {
        let count = 0;
        bothHoldOne = () => {
          count += 1;
          if (count === 2) resolve();
        };
      });
      // Each locks one row, waits until the other holds the other row, then wants it: a deadlock.
      const crosswise = (first: number, second: number) =>
        inTransaction(db, async (tx) => {
          attempts += 1;
          await sql`UPDATE race_rows SET n = n + 1 WHERE id = ${first}`.execute(tx);
          if (attempts <= 2) {
            bothHoldOne();
            await holding;
          }
          await sql`UPDATE race_rows SET n = n + 1 WHERE id = ${second}`.execute(tx);
          return "done";
        });
      const results = await Promise.all([crosswise(1, 2), crosswise(2, 1)]);
      expect(results).toEqual(["done", "done"]);
      expect(attempts).toBe(3);
      const rows = await sql<{ n: number }>`SELECT n FROM race_rows ORDER BY id`.execute(db);
      expect(rows.rows.map((row) => row.n)).toEqual([2, 2]);
    },
    30_000,
  );

  it.runIf(ctx.engine === "postgres")(
    "grants a purchase once when webhooks and browser returns race through two server processes",
    async () => {
      // A second server: the real binary in a process of its own, on the same database and Stripe.
      if (ctx.database.engine !== "postgres") throw new Error("needs PostgreSQL");
      const other = new ServerProcess({
        DATABASE_URL: ctx.database.url,
        STRIPE_SECRET_KEY: ctx.stripeSecretKey,
        STRIPE_API_URL: ctx.stripeEmulator.url,
        STRIPE_WEBHOOK_SECRET: ctx.webhookSecret,
        PUBLIC_URL: ctx.url,
      });
      try {
        const otherUrl = await other.ready(30_000);
        const team = await makeTeam(ctx.app);
        await team.owner.request("PATCH", `/v1/orgs/${team.org.id}`, { country: "FR" });
        const checkout = await team.owner.request("POST", `/v1/orgs/${team.org.id}/checkout/credits`, {
          amount: 100,
        });
        expect(checkout.statusCode, checkout.body).toBe(200);
        const { session_id } = checkout.json();
        const paid = await fetch(`${ctx.stripeEmulator.url}/_emulator/checkout/sessions/${session_id}/pay`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ card: "4242424242424242" }),
        });
        expect(paid.status, await paid.clone().text()).toBe(200);
        const customer = await ctx.db.kysely
          .selectFrom("stripe_customers")
          .select("customer_id")
          .where("org_id", "=", team.org.id)
          .executeTakeFirstOrThrow();
        const completed = (await eventsOfCustomer(ctx, customer.customer_id)).find(
          (event) => event.type === "checkout.session.completed",
        );
        if (!completed) throw new Error("no checkout.session.completed event");

        const headers = { cookie: team.owner.cookie, "x-csrf-token": team.owner.csrfToken };
        const signature = () =>
          signWebhookPayload({
            payload: completed.payload,
            secret: ctx.webhookSecret,
            timestamp: Math.floor(ctx.clock.now().getTime() / 1000),
          });
        const completePath = `/v1/orgs/${team.org.id}/credits/complete`;
        // Each server gets four browser returns and four webhook deliveries, all at once.
        const here = [
          ...Array.from({ length: 4 }, () =>
            ctx.app.inject({ method: "POST", url: completePath, headers, payload: { session_id } }),
          ),
          ...Array.from({ length: 4 }, () =>
            ctx.app.inject({
              method: "POST",
              url: "/v1/webhooks/stripe",
              headers: { "content-type": "application/json", "stripe-signature": signature() },
              payload: completed.payload,
            }),
          ),
        ].map((reply) => reply.then((response) => ({ status: response.statusCode, body: response.body })));
        const there = [
          ...Array.from({ length: 4 }, () =>
            fetch(`${otherUrl}${completePath}`, {
              method: "POST",
              headers: { ...headers, "content-type": "application/json" },
              body: JSON.stringify({ session_id }),
            }),
          ),
          ...Array.from({ length: 4 }, () =>
            fetch(`${otherUrl}/v1/webhooks/stripe`, {
              method: "POST",
              headers: { "content-type": "application/json", "stripe-signature": signature() },
              body: completed.payload,
            }),
          ),
        ].map((reply) =>
          reply.then(async (response) => ({ status: response.status, body: await response.text() })),
        );
        const responses = await Promise.all([...here, ...there]);
        await ctx.stripeEmulator.idle();
        for (const response of responses) expect(response.status, response.body).toBeLessThan(300);
        const entries = await ctx.db.kysely
          .selectFrom("credit_entries")
          .select(["type", "amount"])
          .where("org_id", "=", team.org.id)
          .execute();
        expect(entries.map((entry) => [entry.type, String(entry.amount)])).toEqual([
          ["purchase", "100000000"],
        ]);
        const figures = (await team.owner.request("GET", `/v1/orgs/${team.org.id}/credits`)).json();
        expect(figures).toMatchObject({ available: "100.000000", total: "100.000000" });
      } finally {
        await other.stop();
      }
    },
    90_000,
  );
});
