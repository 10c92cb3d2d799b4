import { expect, it } from "vitest";
import { describeEachEngine, expectError, makeTeam } from "../support/app.js";
import { subscribe } from "../support/stripe.js";

const GIB = 1_073_741_824;

describeEachEngine("usage and entitlements", (ctx) => {
  async function setup() {
    const team = await makeTeam(ctx.app);
    const keyWith = async (scopes: string[]) =>
      (await team.owner.request("POST", `/v1/orgs/${team.org.id}/api-keys`, { name: "k", scopes })).json()
        .key as string;
    return {
      ...team,
      ingestKey: await keyWith(["usage:write"]),
      checkKey: await keyWith(["entitlements:read"]),
    };
  }

  let seq = 0;
  const id = () => `e-${Date.now()}-${++seq}`;
  const at = () => ctx.clock.now().toISOString();

  async function ingest(key: string, events: Record<string, unknown>[]) {
    for (let start = 0; start < events.length; start += 1000) {
      const response = await ctx.app.inject({
        method: "POST",
        url: "/v1/usage/events",
        headers: { authorization: `Bearer ${key}` },
        payload: { events: events.slice(start, start + 1000) },
      });
      expect(response.statusCode, response.body).toBe(200);
      expect(response.json().rejected).toEqual([]);
    }
  }

  const devices = (orgId: string, app: string, from: number, to: number) =>
    Array.from({ length: to - from }, (_, i) => ({
      id: id(),
      org_id: orgId,
      app_id: app,
      metric: "mau",
      device_id: `device-${from + i}`,
      timestamp: at(),
    }));

  function check(key: string, orgId: string, action: string) {
    return ctx.app.inject({
      method: "POST",
      url: "/v1/check",
      headers: { authorization: `Bearer ${key}` },
      payload: { org_id: orgId, action },
    });
  }

  it("counts 1,500 devices over two overlapping apps as exactly 1,500 MAU", async () => {
    const team = await setup();
    // ios sees devices 0–999, android 500–1499: 1,500 distinct.
    await ingest(team.ingestKey, [
      ...devices(team.org.id, "ios", 0, 1000),
      ...devices(team.org.id, "android", 500, 1500),
    ]);
    const usage = (await team.owner.request("GET", `/v1/orgs/${team.org.id}/usage`)).json();
    expect(usage.plan).toBe("solo");
    expect(usage.metrics.mau).toMatchObject({
      unit: "MAU",
      used: 1500,
      included: 2000,
      percent: 75,
      overage: 0,
    });
    expect(usage.metrics.mau.overage_cost).toBe("0.000000");
    const daily = (await team.owner.request("GET", `/v1/orgs/${team.org.id}/usage/daily?metric=mau`)).json();
    expect(daily.days.reduce((sum: number, point: { value: number }) => sum + point.value, 0)).toBe(1500);
  });

  it("gives the console's Usage page its data in one request: usage, daily series and entitlements", async () => {
    const team = await setup();
    await ingest(team.ingestKey, devices(team.org.id, "ios", 0, 1200));
    const url = `/v1/orgs/${team.org.id}/usage`;
    const plain = (await team.owner.request("GET", url)).json();
    expect(plain.daily).toBeUndefined();
    expect(plain.entitlements).toBeUndefined();
    const full = (await team.owner.request("GET", `${url}?include=daily,entitlements`)).json();
    expect(full.metrics.mau.used).toBe(1200);
    expect(full.daily.mau.unit).toBe("MAU");
    expect(full.daily.mau.days.reduce((sum: number, point: { value: number }) => sum + point.value, 0)).toBe(
      1200,
    );
    expect(Object.keys(full.daily).sort()).toEqual(["bandwidth", "build_minutes", "mau", "storage"]);
    expect(full.entitlements.serve_update).toEqual({ allowed: true, reason: null, fix: null });
    const bad = await team.owner.request("GET", `${url}?include=everything`);
    expect(expectError(bad, 400, "invalid_request").message).toContain("include");
  });

  it("denies serve_update at 2,001 MAU on the trial with the reason and a fix, within a second; uploads stay allowed", async () => {
    const team = await setup();
    await ingest(team.ingestKey, devices(team.org.id, "app", 0, 2000));
    expect((await check(team.checkKey, team.org.id, "serve_update")).json()).toEqual({
      allowed: true,
      reason: null,
      fix: null,
    });
    await ingest(team.ingestKey, devices(team.org.id, "app", 2000, 2001));
    const deadline = Date.now() + 1000;
    let answer = (await check(team.checkKey, team.org.id, "serve_update")).json();
    while (answer.allowed && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      answer = (await check(team.checkKey, team.org.id, "serve_update")).json();
    }
    expect(answer).toMatchObject({ allowed: false, reason: "mau_quota_exceeded" });
    expect(answer.fix).toMatch(/credits/);
    expect((await check(team.checkKey, team.org.id, "upload_bundle")).json().allowed).toBe(true);
    const all = (await team.admin.request("GET", `/v1/orgs/${team.org.id}/entitlements`)).json();
    // Members see no billing data, quota reasons included.
    expectError(await team.member.request("GET", `/v1/orgs/${team.org.id}/entitlements`), 403, "forbidden");
    expect(all.actions.serve_update.reason).toBe("mau_quota_exceeded");
    expect(all.actions.build.allowed).toBe(true);
  });

  it("measures bandwidth in GiB and storage by its latest readings, and gates uploads on storage", async () => {
    const team = await setup();
    await ingest(team.ingestKey, [
      { id: id(), org_id: team.org.id, app_id: "a", metric: "bandwidth", value: 6 * GIB, timestamp: at() },
      { id: id(), org_id: team.org.id, app_id: "b", metric: "bandwidth", value: GIB / 2, timestamp: at() },
      { id: id(), org_id: team.org.id, app_id: "a", metric: "build_minutes", value: 61, timestamp: at() },
      { id: id(), org_id: team.org.id, app_id: "a", metric: "storage", value: GIB / 4, timestamp: at() },
    ]);
    const usage = (await team.owner.request("GET", `/v1/orgs/${team.org.id}/usage`)).json();
    expect(usage.metrics.bandwidth).toMatchObject({ unit: "GiB", used: 6.5, included: 13, percent: 50 });
    expect(usage.metrics.build_minutes).toMatchObject({ used: 2, included: 60 });
    expect(usage.metrics.storage.current_gib).toBe(0.25);
    expect((await check(team.checkKey, team.org.id, "upload_bundle")).json().allowed).toBe(true);

    // A newer reading replaces the app's; 1.5 GiB is over Solo's 1 GiB.
    await ingest(team.ingestKey, [
      {
        id: id(),
        org_id: team.org.id,
        app_id: "a",
        metric: "storage",
        value: GIB + GIB / 2,
        timestamp: new Date(ctx.clock.now().getTime() + 1000).toISOString(),
      },
    ]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await check(team.checkKey, team.org.id, "upload_bundle")).json()).toMatchObject({
      allowed: false,
      reason: "storage_quota_exceeded",
    });
    expect((await check(team.checkKey, team.org.id, "serve_update")).json().allowed).toBe(true);
  });

  it("answers checks only for keys with entitlements:read, and only for their own org", async () => {
    const team = await setup();
    expectError(await check(team.ingestKey, team.org.id, "serve_update"), 403, "forbidden");
    expectError(await check(team.checkKey, team.otherOrg.id, "serve_update"), 404, "not_found");
    expectError(await check(team.checkKey, team.org.id, "launch_rocket"), 400, "invalid_request");
    const unsigned = await ctx.app.inject({
      method: "POST",
      url: "/v1/check",
      payload: { org_id: team.org.id, action: "build" },
    });
    expectError(unsigned, 401, "unauthenticated");
  });

  it("counts a subscribed org's MAU in the cycle running when it subscribed, which runs on to the first renewal", async () => {
    const team = await setup();
    await ingest(team.ingestKey, devices(team.org.id, "app", 0, 10));
    const { subscription } = await subscribe(ctx, team.owner, team.org.id, {
      plan: "maker",
      interval: "month",
    });
    const usage = (await team.owner.request("GET", `/v1/orgs/${team.org.id}/usage`)).json();
    expect(usage.plan).toBe("maker");
    // The calendar cycle it subscribed in keeps its start, and its devices: nothing is counted twice.
    const today = ctx.clock.now();
    expect(usage.cycle.start).toBe(
      new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), 1)).toISOString(),
    );
    expect(usage.cycle.end.slice(0, 10)).toBe(subscription.current_period_end.slice(0, 10));
    expect(usage.metrics.mau).toMatchObject({ used: 10, included: 10_000 });
  });
});
