import { expect, it } from "vitest";
import { postOperation } from "../../src/db/creditPosting.js";
import { createApiKey } from "../../src/services/accounts/apiKeys.js";
import { grantCredits } from "../../src/services/credits/creditGrants.js";
import { expireCredits } from "../../src/services/credits/expireCredits.js";
import { readCreditEntries } from "../../src/services/credits/readCredits.js";
import { readEmails } from "../../src/services/emails/readEmails.js";
import { describeEachEngine, expectError, makeTeam, uniqueEmail } from "../support/app.js";
import { shuffleDeliveries } from "../support/stripe.js";

describeEachEngine("credits", (ctx) => {
  async function adminKey() {
    const { key } = await createApiKey({
      db: ctx.db.kysely,
      orgId: null,
      name: "ops",
      scopes: ["admin"],
      createdBy: null,
      now: new Date(),
    });
    return key;
  }

  function grant(key: string, orgId: string, body: Record<string, unknown>, idempotencyKey?: string) {
    return ctx.app.inject({
      method: "POST",
      url: `/v1/admin/orgs/${orgId}/credits/grants`,
      headers: {
        authorization: `Bearer ${key}`,
        ...(idempotencyKey ? { "idempotency-key": idempotencyKey } : {}),
      },
      payload: body,
    });
  }

  it("a platform admin grants credits once per idempotency key; the Credits figures and ledger show them", async () => {
    const team = await makeTeam(ctx.app);
    const key = await adminKey();
    const first = await grant(key, team.org.id, { amount: "100", note: "welcome" }, "welcome-1");
    expect(first.statusCode, first.body).toBe(201);
    expect(first.json()).toMatchObject({ type: "grant", amount: "100.000000", balance_after: "100.000000" });
    const retry = await grant(key, team.org.id, { amount: "100", note: "welcome" }, "welcome-1");
    expect(retry.statusCode).toBe(200);
    expect(retry.json().id).toBe(first.json().id);
    const second = await grant(key, team.org.id, { amount: 25, note: "sorry" });
    expect(second.json()).toMatchObject({ amount: "25.000000", balance_after: "125.000000" });

    const figures = (await team.billing_admin.request("GET", `/v1/orgs/${team.org.id}/credits`)).json();
    expect(figures).toMatchObject({
      available: "125.000000",
      total: "125.000000",
      used_this_cycle: "0.000000",
      used_this_cycle_usd: "0.00",
    });
    const expiry = Date.parse(figures.next_expiry) - Date.now();
    expect(expiry).toBeGreaterThan(360 * 86_400_000);
    expect(expiry).toBeLessThan(367 * 86_400_000);

    const page = (
      await team.admin.request("GET", `/v1/orgs/${team.org.id}/credits/transactions?limit=1`)
    ).json();
    expect(page.items.map((item: { amount: string }) => item.amount)).toEqual(["25.000000"]);
    const next = (
      await team.admin.request(
        "GET",
        `/v1/orgs/${team.org.id}/credits/transactions?limit=1&cursor=${page.next_cursor}`,
      )
    ).json();
    expect(next.items.map((item: { amount: string }) => item.amount)).toEqual(["100.000000"]);
    expect(next.next_cursor).toBeNull();

    const csv = await team.owner.request("GET", `/v1/orgs/${team.org.id}/credits/transactions.csv`);
    expect(csv.headers["content-type"]).toContain("text/csv");
    const lines = csv.body.trim().split("\n");
    expect(lines[0]).toBe("id,type,amount,balance_after,metric,quantity,grant_id,description,occurred_at");
    expect(lines).toHaveLength(3);
    expect(lines[2]).toContain("Credits granted: welcome");
  });

  it("refuses bad grants, naming the field, and grants nothing", async () => {
    const team = await makeTeam(ctx.app);
    const key = await adminKey();
    for (const [body, field] of [
      [{ amount: 0, note: "x" }, "body.amount"],
      [{ amount: "1.0000001", note: "x" }, "body.amount"],
      [{ amount: -5, note: "x" }, "body.amount"],
      [{ amount: 1_000_000, note: "x" }, "body.amount"],
      [{ amount: 5 }, "body.note"],
      [{ amount: 5, note: "x", expires_at: "2020-01-01T00:00:00Z" }, "expires_at"],
      [{ amount: 5, note: "x", price: 1 }, "body.price"],
    ] as const) {
      const response = await grant(key, team.org.id, body);
      expect(expectError(response, 400, "invalid_request").message).toContain(field);
    }
    const figures = (await team.owner.request("GET", `/v1/orgs/${team.org.id}/credits`)).json();
    expect(figures.available).toBe("0.000000");
  });

  it("only platform admin keys grant; org keys and people cannot", async () => {
    const team = await makeTeam(ctx.app);
    const orgKey = (
      await team.owner.request("POST", `/v1/orgs/${team.org.id}/api-keys`, {
        name: "k",
        scopes: ["usage:write"],
      })
    ).json().key;
    expectError(await grant(orgKey, team.org.id, { amount: 5, note: "x" }), 403, "forbidden");
    const session = await team.owner.request("POST", `/v1/admin/orgs/${team.org.id}/credits/grants`, {
      amount: 5,
      note: "x",
    });
    expectError(session, 401, "unauthenticated");
    expectError(
      await grant(await adminKey(), "org_doesnotexist", { amount: 5, note: "x" }),
      404,
      "not_found",
    );
    expectError(await team.member.request("GET", `/v1/orgs/${team.org.id}/credits`), 403, "forbidden");
  });

  it("prices overage per metric in graduated tiers", async () => {
    const team = await makeTeam(ctx.app);
    const pricing = (await team.owner.request("GET", `/v1/orgs/${team.org.id}/credits/pricing`)).json();
    expect(pricing.mau.tiers[0]).toEqual({ up_to: 1_000_000, price: "0.003000" });
    expect(pricing.mau.custom).toBe(false);
    expect(pricing.storage.unit).toBe("GiB-month");
  });

  it("lets a platform admin set an organization's own tiers, refusing bad ones and naming the field", async () => {
    const team = await makeTeam(ctx.app);
    const key = await adminKey();
    const setPricing = (orgId: string, body: unknown, bearer = key) =>
      ctx.app.inject({
        method: "PUT",
        url: `/v1/admin/orgs/${orgId}/credits/pricing`,
        headers: { authorization: `Bearer ${bearer}` },
        payload: body as Record<string, unknown>,
      });
    const own = [
      { up_to: 5_000, price: "0.001" },
      { up_to: null, price: "0.002" },
    ];
    for (const [body, field] of [
      [{ mau: [{ up_to: 5_000, price: "0.001" }] }, "body.mau.0.up_to"],
      [
        {
          mau: [
            { up_to: 10, price: "1" },
            { up_to: 5, price: "1" },
            { up_to: null, price: "1" },
          ],
        },
        "body.mau.1.up_to",
      ],
      [{ mau: [{ up_to: null, price: "0.0000001" }] }, "body.mau.0.price"],
      [{ mau: [] }, "body.mau"],
      [{ egress: own }, "body"],
    ] as const) {
      expect(expectError(await setPricing(team.org.id, body), 400, "invalid_request").message).toContain(
        field,
      );
    }
    const orgKey = (
      await team.owner.request("POST", `/v1/orgs/${team.org.id}/api-keys`, {
        name: "k",
        scopes: ["usage:write"],
      })
    ).json().key;
    expectError(await setPricing(team.org.id, { mau: own }, orgKey), 403, "forbidden");
    expectError(await setPricing("org_doesnotexist", { mau: own }), 404, "not_found");
    const untouched = (await team.owner.request("GET", `/v1/orgs/${team.org.id}/credits/pricing`)).json();
    expect(untouched.mau).toMatchObject({ custom: false, tiers: expect.arrayContaining([]) });
    expect(untouched.mau.tiers[0]).toEqual({ up_to: 1_000_000, price: "0.003000" });

    const set = await setPricing(team.org.id, { mau: own });
    expect(set.statusCode, set.body).toBe(200);
    expect(set.json().mau).toEqual({
      unit: "MAU",
      custom: true,
      tiers: [
        { up_to: 5_000, price: "0.001000" },
        { up_to: null, price: "0.002000" },
      ],
    });
    const shown = (await team.owner.request("GET", `/v1/orgs/${team.org.id}/credits/pricing`)).json();
    expect(shown.mau.custom).toBe(true);
    expect(shown.mau.tiers[1]).toEqual({ up_to: null, price: "0.002000" });
    expect(shown.bandwidth).toMatchObject({ custom: false, tiers: expect.any(Array) });
    expect(shown.bandwidth.tiers[0]).toEqual({ up_to: 1_024, price: "0.060000" });
    // Another organization keeps the catalog's tiers.
    const other = await makeTeam(ctx.app);
    const theirs = (await other.owner.request("GET", `/v1/orgs/${other.org.id}/credits/pricing`)).json();
    expect(theirs.mau.tiers[0]).toEqual({ up_to: 1_000_000, price: "0.003000" });

    const cleared = await setPricing(team.org.id, {});
    expect(cleared.json().mau).toMatchObject({ custom: false });
    expect(cleared.json().mau.tiers[0]).toEqual({ up_to: 1_000_000, price: "0.003000" });
  });

  it("estimates 100 credits in FR as 100.00 + 20.00 tax = 120.00, before paying", async () => {
    const team = await makeTeam(ctx.app);
    const estimate = await team.admin.request(
      "GET",
      `/v1/orgs/${team.org.id}/credits/estimate?amount=100&country=fr`,
    );
    expect(estimate.json()).toEqual({
      credits: 100,
      country: "FR",
      tax_rate_percent: 20,
      subtotal_cents: 10_000,
      tax_cents: 2_000,
      total_cents: 12_000,
    });
    const us = await team.admin.request(
      "GET",
      `/v1/orgs/${team.org.id}/credits/estimate?amount=250&country=US`,
    );
    expect(us.json()).toMatchObject({ tax_cents: 0, total_cents: 25_000 });
    for (const amount of ["0", "100001", "1.5", "lots"]) {
      const bad = await team.admin.request(
        "GET",
        `/v1/orgs/${team.org.id}/credits/estimate?amount=${amount}`,
      );
      expect(expectError(bad, 400, "invalid_request").message).toContain("querystring.amount");
    }
  });

  it("buys credits through Checkout once, however the webhook and the browser's return race", async () => {
    const team = await makeTeam(ctx.app);
    await team.owner.request("PATCH", `/v1/orgs/${team.org.id}`, { country: "FR" });
    const checkout = await team.billing_admin.request("POST", `/v1/orgs/${team.org.id}/checkout/credits`, {
      amount: 100,
    });
    expect(checkout.statusCode, checkout.body).toBe(200);
    const { session_id, checkout_url } = checkout.json();
    const page = await (await fetch(checkout_url)).text();
    expect(page).toContain("120.00 USD");

    // Stripe's events come in any order and late, racing the browser's returns.
    await shuffleDeliveries(ctx, { shuffle: true, maxDelayMs: 100 });
    let returns: Awaited<ReturnType<typeof team.billing_admin.request>>[];
    try {
      const paid = fetch(`${ctx.stripeEmulator.url}/_emulator/checkout/sessions/${session_id}/pay`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ card: "4242424242424242" }),
      });
      expect((await paid).status).toBe(200);
      returns = await Promise.all(
        Array.from({ length: 8 }, () =>
          team.billing_admin.request("POST", `/v1/orgs/${team.org.id}/credits/complete`, { session_id }),
        ),
      );
      await ctx.stripeEmulator.idle();
    } finally {
      await shuffleDeliveries(ctx, { shuffle: false });
    }
    for (const response of returns) expect(response.statusCode, response.body).toBe(200);
    expect(returns.map((response) => response.json().credits)).toEqual(Array(8).fill("100.000000"));
    const figures = (await team.owner.request("GET", `/v1/orgs/${team.org.id}/credits`)).json();
    expect(figures).toMatchObject({ available: "100.000000", total: "100.000000" });
    const { items } = (
      await team.owner.request("GET", `/v1/orgs/${team.org.id}/credits/transactions`)
    ).json();
    expect(items.map((item: { type: string; amount: string }) => [item.type, item.amount])).toEqual([
      ["purchase", "100.000000"],
    ]);
    // One receipt, in the local mailbox (no SMTP server is set here).
    await ctx.emails.wake();
    const emails = (await team.owner.request("GET", `/v1/orgs/${team.org.id}/emails`)).json().items;
    expect(emails).toHaveLength(1);
    expect(emails[0]).toMatchObject({
      kind: "purchase_receipt",
      subject: "Receipt: 100.00 credits for 120.00 USD",
      status: "sent",
      transport: "mailbox",
    });
    expect(emails[0].text).toContain("Subtotal 100.00 USD, tax 20.00 USD, total 120.00 USD.");
  });

  it("refuses a session of another org, an unpaid one, and a purchase by a mere admin", async () => {
    const team = await makeTeam(ctx.app);
    const checkout = await team.owner.request("POST", `/v1/orgs/${team.org.id}/checkout/credits`, {
      amount: 5,
    });
    const { session_id } = checkout.json();
    expectError(
      await team.owner.request("POST", `/v1/orgs/${team.org.id}/credits/complete`, { session_id }),
      409,
      "payment_pending",
    );
    expectError(
      await team.outsider.request("POST", `/v1/orgs/${team.otherOrg.id}/credits/complete`, { session_id }),
      404,
      "not_found",
    );
    expectError(
      await team.admin.request("POST", `/v1/orgs/${team.org.id}/checkout/credits`, { amount: 5 }),
      403,
      "forbidden",
    );
    for (const body of [
      { amount: 0 },
      { amount: 100_001 },
      { amount: 10, price: "price_x" },
      { amount: "ten" },
    ]) {
      expectError(
        await team.owner.request("POST", `/v1/orgs/${team.org.id}/checkout/credits`, body),
        400,
        "invalid_request",
      );
    }
  });

  it("expires what is left of a grant past its date, once, and consumption never spends it", async () => {
    const team = await makeTeam(ctx.app);
    const key = await adminKey();
    const soon = new Date(Date.now() + 86_400_000).toISOString();
    await grant(key, team.org.id, { amount: "40", note: "short", expires_at: soon });
    await grant(key, team.org.id, { amount: "10", note: "long" });
    const later = new Date(Date.now() + 2 * 86_400_000);
    expect(await expireCredits({ db: ctx.db.kysely, now: later })).toEqual({ expired: 1 });
    expect(await expireCredits({ db: ctx.db.kysely, now: later })).toEqual({ expired: 0 });
    const { items } = (
      await team.owner.request("GET", `/v1/orgs/${team.org.id}/credits/transactions`)
    ).json();
    expect(items[0]).toMatchObject({ type: "expiry", amount: "-40.000000", balance_after: "10.000000" });
    expect(items).toHaveLength(3);
  });

  it("expires grants that end together in the order credits are spent from them, the same way every time", async () => {
    const team = await makeTeam(ctx.app);
    const db = ctx.db.kysely;
    const now = new Date();
    const expiresAt = new Date(now.getTime() + 60_000);
    const grants: string[] = [];
    for (const credits of [1n, 2n, 3n, 4n]) {
      const { entry } = await grantCredits({
        db,
        orgId: team.org.id,
        amount: credits * 1_000_000n,
        expiresAt,
        note: "n",
        now,
      });
      grants.push(entry.grant_id as string);
    }
    // Spending rewrites the rows of the first grants, which moves them behind the others on disk.
    for (const [n, grantId] of grants.slice(0, 2).entries()) {
      await postOperation(db, {
        orgId: team.org.id,
        operationKey: `spend-${n}`,
        entries: [{ type: "deduction", amount: -500_000n, grantId, metric: "mau", description: "spent" }],
        now,
      });
    }
    await expireCredits({ db, now: expiresAt });
    const { items } = await readCreditEntries({ db, orgId: team.org.id, cursor: null, limit: 20 });
    const expiries = items.filter((item) => item.type === "expiry").reverse();
    expect(expiries.map((item) => item.grant_id)).toEqual(grants);
    expect(expiries.map((item) => String(item.balance_after))).toEqual([
      "8500000",
      "7000000",
      "4000000",
      "0",
    ]);
  });

  it("takes refunded credits back by a refund entry, never below zero", async () => {
    const team = await makeTeam(ctx.app);
    await team.owner.request("PATCH", `/v1/orgs/${team.org.id}`, { country: "FR" });
    const { session_id } = (
      await team.owner.request("POST", `/v1/orgs/${team.org.id}/checkout/credits`, { amount: 100 })
    ).json();
    await fetch(`${ctx.stripeEmulator.url}/_emulator/checkout/sessions/${session_id}/pay`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ card: "4242424242424242" }),
    });
    await ctx.stripeEmulator.idle();
    const session = await ctx.stripe.sdk.checkout.sessions.retrieve(session_id);
    expect(session.amount_total).toBe(12_000);
    const paymentIntent = String(session.payment_intent);

    await ctx.stripe.sdk.refunds.create({ payment_intent: paymentIntent, amount: 6_000 });
    await ctx.stripeEmulator.idle();
    let figures = (await team.owner.request("GET", `/v1/orgs/${team.org.id}/credits`)).json();
    expect(figures.available).toBe("50.000000");

    // Spend 30 of the 50 left, then refund the rest of the payment: only 20 can come back.
    await ctx.db.kysely.transaction().execute(async (tx) => {
      const grantRow = await tx
        .selectFrom("credit_grants")
        .select("id")
        .where("org_id", "=", team.org.id)
        .executeTakeFirstOrThrow();
      await postOperation(tx, {
        orgId: team.org.id,
        operationKey: "test-spend",
        entries: [
          {
            type: "deduction",
            amount: -30_000_000n,
            grantId: grantRow.id,
            metric: "mau",
            description: "spent",
          },
        ],
        now: new Date(),
      });
    });
    await ctx.stripe.sdk.refunds.create({ payment_intent: paymentIntent, amount: 6_000 });
    await ctx.stripeEmulator.idle();
    figures = (await team.owner.request("GET", `/v1/orgs/${team.org.id}/credits`)).json();
    expect(figures.available).toBe("0.000000");
    const { items } = (
      await team.owner.request("GET", `/v1/orgs/${team.org.id}/credits/transactions`)
    ).json();
    expect(
      items.map((item: { type: string; amount: string; balance_after: string }) => [
        item.type,
        item.amount,
        item.balance_after,
      ]),
    ).toEqual([
      ["refund", "-20.000000", "0.000000"],
      ["deduction", "-30.000000", "20.000000"],
      ["refund", "-50.000000", "50.000000"],
      ["purchase", "100.000000", "100.000000"],
    ]);
  });

  it("gives Stripe the billing email only once it is confirmed, else the email of the person paying", async () => {
    const customerEmail = async (orgId: string) => {
      const row = await ctx.db.kysely
        .selectFrom("stripe_customers")
        .select("customer_id")
        .where("org_id", "=", orgId)
        .executeTakeFirstOrThrow();
      return (await ctx.stripe.sdk.customers.retrieve(row.customer_id)) as { email: string | null };
    };
    const startCheckout = async (team: Awaited<ReturnType<typeof makeTeam>>) => {
      const checkout = await team.billing_admin.request("POST", `/v1/orgs/${team.org.id}/checkout/credits`, {
        amount: 50,
      });
      expect(checkout.statusCode, checkout.body).toBe(200);
    };

    const pending = await makeTeam(ctx.app);
    const unconfirmed = uniqueEmail("finance");
    await pending.owner.request("PATCH", `/v1/orgs/${pending.org.id}`, { billing_email: unconfirmed });
    await startCheckout(pending);
    expect((await customerEmail(pending.org.id)).email).toBe(pending.billing_admin.user.email);

    const confirmed = await makeTeam(ctx.app);
    const address = uniqueEmail("finance");
    await confirmed.owner.request("PATCH", `/v1/orgs/${confirmed.org.id}`, { billing_email: address });
    const { items } = await readEmails({
      db: ctx.db.kysely,
      orgId: confirmed.org.id,
      publicUrl: ctx.url,
      cursor: null,
      limit: 1,
    });
    const token = /confirm-billing-email\?token=(\S+)/.exec(items[0]?.text ?? "")?.[1];
    const confirm = await ctx.app.inject({
      method: "POST",
      url: "/v1/billing-email/confirm",
      payload: { token },
    });
    expect(confirm.statusCode, confirm.body).toBe(200);
    await startCheckout(confirmed);
    expect((await customerEmail(confirmed.org.id)).email).toBe(address);
  });
});
