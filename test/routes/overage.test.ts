import { expect, it } from "vitest";
import { createApiKey } from "../../src/services/accounts/apiKeys.js";
import { describeEachEngine, makeTeam, reportNewDevices } from "../support/app.js";

describeEachEngine("overage paid from credits", (ctx) => {
  async function setup(credits: string) {
    const team = await makeTeam(ctx.app);
    const { key: admin } = await createApiKey({
      db: ctx.db.kysely,
      orgId: null,
      name: "ops",
      scopes: ["admin", "usage:write", "entitlements:read"],
      createdBy: null,
      now: new Date(),
    });
    const granted = await grant(admin, team.org.id, credits);
    expect(granted.statusCode, granted.body).toBe(201);
    return { ...team, admin };
  }

  function grant(key: string, orgId: string, amount: string) {
    return ctx.app.inject({
      method: "POST",
      url: `/v1/admin/orgs/${orgId}/credits/grants`,
      headers: { authorization: `Bearer ${key}` },
      payload: { amount, note: "test" },
    });
  }

  /** `to − from` new devices, seen now. */
  const devices = (key: string, orgId: string, from: number, to: number) =>
    reportNewDevices(ctx.app, { key, orgId, count: to - from, at: ctx.clock.now() });

  async function creditsOf(team: Awaited<ReturnType<typeof setup>>, expected: string) {
    const deadline = Date.now() + 5_000;
    let figures = (await team.owner.request("GET", `/v1/orgs/${team.org.id}/credits`)).json();
    while (figures.available !== expected && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      figures = (await team.owner.request("GET", `/v1/orgs/${team.org.id}/credits`)).json();
    }
    return figures;
  }

  function check(key: string, orgId: string) {
    return ctx.app
      .inject({
        method: "POST",
        url: "/v1/check",
        headers: { authorization: `Bearer ${key}` },
        payload: { org_id: orgId, action: "serve_update" },
      })
      .then((response) => response.json());
  }

  it("charges a solo trial at 12,000 MAU exactly 30 credits, shown as a mau deduction of 10,000", async () => {
    const team = await setup("100");
    await devices(team.admin, team.org.id, 0, 12_000);
    const figures = await creditsOf(team, "70.000000");
    expect(figures).toMatchObject({
      available: "70.000000",
      total: "100.000000",
      used_this_cycle: "30.000000",
    });
    expect(figures.used_this_cycle_usd).toBe("30.00");
    await ctx.overage.idle();
    const { items } = (
      await team.owner.request("GET", `/v1/orgs/${team.org.id}/credits/transactions`)
    ).json();
    const deductions = items.filter((item: { type: string }) => item.type === "deduction");
    const total = deductions.reduce((sum: number, item: { amount: string }) => sum + Number(item.amount), 0);
    expect(total).toBeCloseTo(-30, 6);
    expect(deductions[0]).toMatchObject({ metric: "mau", quantity: "10000", balance_after: "70.000000" });
    expect(await check(team.admin, team.org.id)).toMatchObject({ allowed: true });
  });

  it("charges and shows an organization's own tiers, and the catalog's again once they are removed", async () => {
    const team = await setup("100");
    const setPricing = (body: Record<string, unknown>) =>
      ctx.app.inject({
        method: "PUT",
        url: `/v1/admin/orgs/${team.org.id}/credits/pricing`,
        headers: { authorization: `Bearer ${team.admin}` },
        payload: body,
      });
    const set = await setPricing({
      mau: [
        { up_to: 5_000, price: "0.001" },
        { up_to: null, price: "0.002" },
      ],
    });
    expect(set.statusCode, set.body).toBe(200);
    await devices(team.admin, team.org.id, 0, 12_000);
    // 10,000 MAU over: 5,000 × 0.001 + 5,000 × 0.002 = 15 credits, not the catalog's 30.
    const figures = await creditsOf(team, "85.000000");
    expect(figures).toMatchObject({ available: "85.000000", used_this_cycle: "15.000000" });
    const usage = (await team.owner.request("GET", `/v1/orgs/${team.org.id}/usage`)).json();
    expect(usage.metrics.mau).toMatchObject({ overage: 10_000, overage_cost: "15.000000" });

    // Back on the catalog's tiers, the same overage costs 30: the 15 still due is taken once.
    expect((await setPricing({})).statusCode).toBe(200);
    expect((await creditsOf(team, "70.000000")).available).toBe("70.000000");
    await ctx.overage.idle();
    const after = (await team.owner.request("GET", `/v1/orgs/${team.org.id}/credits`)).json();
    expect(after).toMatchObject({ available: "70.000000", used_this_cycle: "30.000000" });
  });

  it("allows updates while credits last, denies them when they run out, and takes what is owed when credits come", async () => {
    const team = await setup("1");
    await devices(team.admin, team.org.id, 0, 2_300);
    // 300 MAU over: 0.9 credits of the 1.
    expect((await creditsOf(team, "0.100000")).available).toBe("0.100000");
    expect(await check(team.admin, team.org.id)).toMatchObject({ allowed: true });

    await devices(team.admin, team.org.id, 2_300, 2_400);
    // 400 over cost 1.2: the last 0.1 is taken and 0.2 is owed.
    expect((await creditsOf(team, "0.000000")).available).toBe("0.000000");
    const deadline = Date.now() + 2_000;
    let answer = await check(team.admin, team.org.id);
    while (answer.allowed && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      answer = await check(team.admin, team.org.id);
    }
    expect(answer).toMatchObject({ allowed: false, reason: "mau_quota_exceeded" });

    expect((await grant(team.admin, team.org.id, "5")).statusCode).toBe(201);
    expect((await creditsOf(team, "4.800000")).available).toBe("4.800000");
    const used = (await team.owner.request("GET", `/v1/orgs/${team.org.id}/credits`)).json().used_this_cycle;
    expect(used).toBe("1.200000");
  });
});
