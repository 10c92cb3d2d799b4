import { expect, it } from "vitest";
import { type Browser, describeEachEngine, makeTeam } from "../support/app.js";

/**
 * Every route with an organization in its path, read from the OpenAPI document, with a valid
 * request for it. A route added without an entry here fails the suite, so none escapes the
 * checks below.
 */
interface Ids {
  org: string;
  key: string;
  /** An account that exists: the caller's own, so "add me to their org" is what gets tried. */
  email: string;
}

const samples: Record<string, (ids: Ids) => unknown> = {
  "GET /v1/orgs/{org}": () => undefined,
  "PATCH /v1/orgs/{org}": () => ({ country: "DE" }),
  "GET /v1/orgs/{org}/members": () => undefined,
  "POST /v1/orgs/{org}/members": ({ email }) => ({ email, role: "owner" }),
  "GET /v1/orgs/{org}/api-keys": () => undefined,
  "POST /v1/orgs/{org}/api-keys": () => ({ name: "k", scopes: ["usage:write"] }),
  "DELETE /v1/orgs/{org}/api-keys/{key}": () => undefined,
  "GET /v1/orgs/{org}/subscription": () => undefined,
  "POST /v1/orgs/{org}/checkout/subscription": () => ({ plan: "maker", interval: "year" }),
  "POST /v1/orgs/{org}/subscription/change": () => ({ plan: "team", interval: "year" }),
  "POST /v1/orgs/{org}/subscription/cancel": () => undefined,
  "POST /v1/orgs/{org}/billing-portal": () => undefined,
  "POST /v1/orgs/{org}/contact-sales": () => ({ message: "We need 50M MAU" }),
  "GET /v1/orgs/{org}/usage": () => undefined,
  "GET /v1/orgs/{org}/usage/daily": () => undefined,
  "GET /v1/orgs/{org}/entitlements": () => undefined,
  "GET /v1/orgs/{org}/credits": () => undefined,
  "GET /v1/orgs/{org}/credits/pricing": () => undefined,
  "GET /v1/orgs/{org}/credits/transactions": () => undefined,
  "GET /v1/orgs/{org}/credits/transactions.csv": () => undefined,
  "GET /v1/orgs/{org}/credits/estimate": () => undefined,
  "POST /v1/orgs/{org}/checkout/credits": () => ({ amount: 100 }),
  "POST /v1/orgs/{org}/credits/complete": () => ({ session_id: "cs_test_nothing" }),
  "GET /v1/orgs/{org}/emails": () => undefined,
  "GET /v1/orgs/{org}/email-preferences": () => undefined,
  "PATCH /v1/orgs/{org}/email-preferences": () => ({ usage_quota: false }),
};

/** Routes that only owners and billing admins may use. */
const billingWrites = new Set([
  "PATCH /v1/orgs/{org}",
  "POST /v1/orgs/{org}/checkout/subscription",
  "POST /v1/orgs/{org}/subscription/change",
  "POST /v1/orgs/{org}/subscription/cancel",
  "POST /v1/orgs/{org}/billing-portal",
  "POST /v1/orgs/{org}/checkout/credits",
  "POST /v1/orgs/{org}/credits/complete",
]);

describeEachEngine("organization isolation", (ctx) => {
  async function orgRoutes(): Promise<{ method: string; path: string; name: string }[]> {
    const doc = (await ctx.app.inject({ method: "GET", url: "/openapi.json" })).json();
    return Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
      // Admin routes take platform keys, never a session: their own tests cover them.
      path.includes("{org}") && !path.startsWith("/v1/admin/")
        ? Object.keys(ops).map((method) => ({
            method: method.toUpperCase(),
            path,
            name: `${method.toUpperCase()} ${path}`,
          }))
        : [],
    );
  }

  function call(who: Browser, route: { method: string; path: string; name: string }, ids: Ids) {
    const sample = samples[route.name];
    if (!sample) throw new Error(`no sample request for ${route.name}: add one to the isolation matrix`);
    const url = route.path.replace("{org}", ids.org).replace("{key}", ids.key);
    return who.request(route.method as "GET", url, sample(ids));
  }

  it("every org route has a sample request", async () => {
    const routes = await orgRoutes();
    expect(routes.length).toBeGreaterThanOrEqual(Object.keys(samples).length);
    for (const route of routes) expect(Object.keys(samples), route.name).toContain(route.name);
  });

  it("a user of another org gets 404 on every route of this org, and nothing changes", async () => {
    const team = await makeTeam(ctx.app);
    const key = await team.owner.request("POST", `/v1/orgs/${team.org.id}/api-keys`, {
      name: "k",
      scopes: ["usage:write"],
    });
    const ids = { org: team.org.id, key: key.json().id, email: team.outsider.user.email };
    const before = await snapshot(team.owner, team.org.id);
    for (const route of await orgRoutes()) {
      const response = await call(team.outsider, route, ids);
      expect(response.statusCode, `${route.name}: ${response.body}`).toBe(404);
      expect(response.body).not.toContain(team.owner.user.email);
      // The outsider's own org in the path with this org's key id finds nothing either.
      if (route.path.includes("{key}")) {
        const crossed = await call(team.outsider, route, { ...ids, org: team.otherOrg.id });
        expect(crossed.statusCode, route.name).toBe(404);
      }
    }
    expect(await snapshot(team.owner, team.org.id)).toEqual(before);
  });

  it("a member gets 403 on billing writes and sees no billing email", async () => {
    const team = await makeTeam(ctx.app);
    const ids = { org: team.org.id, key: "key_none", email: team.member.user.email };
    for (const route of await orgRoutes()) {
      if (!billingWrites.has(route.name)) continue;
      const response = await call(team.member, route, ids);
      expect(response.statusCode, route.name).toBe(403);
    }
    const org = await team.member.request("GET", `/v1/orgs/${team.org.id}`);
    expect(org.json().billing_email).toBeNull();
  });

  it("without a session every org route answers 401", async () => {
    const team = await makeTeam(ctx.app);
    for (const route of await orgRoutes()) {
      const url = route.path.replace("{org}", team.org.id).replace("{key}", "key_x");
      const response = await ctx.app.inject({ method: route.method as "GET", url });
      expect(response.statusCode, route.name).toBe(401);
    }
  });
});

async function snapshot(owner: Browser, orgId: string) {
  const [org, members, keys, subscription] = await Promise.all([
    owner.request("GET", `/v1/orgs/${orgId}`),
    owner.request("GET", `/v1/orgs/${orgId}/members`),
    owner.request("GET", `/v1/orgs/${orgId}/api-keys`),
    owner.request("GET", `/v1/orgs/${orgId}/subscription`),
  ]);
  return { org: org.json(), members: members.json(), keys: keys.json(), subscription: subscription.json() };
}
