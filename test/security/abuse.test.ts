import { expect, it } from "vitest";
import { BODY_LIMIT_BYTES } from "../../src/http/app.js";
import { rateLimits } from "../../src/http/rateLimits.js";
import { describeEachEngine, expectError, makeTeam, signUp, uniqueEmail, usageKey } from "../support/app.js";

describeEachEngine("abuse limits", (ctx) => {
  const PASSWORD = "correct horse battery";

  function login(email: string, password: string, remoteAddress: string) {
    return ctx.app.inject({
      method: "POST",
      url: "/v1/auth/login",
      remoteAddress,
      payload: { email, password },
    });
  }

  it("stops password guessing on one account after 10 tries, even from many addresses, and tells when to retry", async () => {
    const person = await signUp(ctx.app);
    const { burst } = rateLimits.loginPerEmail;
    for (let i = 0; i < burst; i++) {
      expectError(
        await login(person.user.email, "wrong password!", `192.0.2.${i}`),
        401,
        "invalid_credentials",
      );
    }
    const blocked = await login(person.user.email.toUpperCase(), PASSWORD, "192.0.2.200");
    expect(expectError(blocked, 429, "rate_limited").message).toContain("sign-ins to this account");
    expect(Number(blocked.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    // Another account is not held back by it.
    const other = await signUp(ctx.app);
    expect((await login(other.user.email, PASSWORD, "192.0.2.201")).statusCode).toBe(200);
    // A minute later the account may try again.
    ctx.clock.offsetMs = 61_000;
    try {
      expect((await login(person.user.email, PASSWORD, "192.0.2.202")).statusCode).toBe(200);
    } finally {
      ctx.clock.offsetMs = 0;
    }
  });

  it("stops one address trying many accounts", async () => {
    const { burst, perSecond } = rateLimits.loginPerAddress;
    const address = "198.51.100.7";
    const started = Date.now();
    let allowed = 0;
    let blocked: Awaited<ReturnType<typeof login>> | null = null;
    while (!blocked && allowed < burst * 2) {
      const response = await login(uniqueEmail("nobody"), "whatever pass", address);
      if (response.statusCode === 429) blocked = response;
      else allowed += 1;
    }
    // The bucket refills as the attempts go on: at most its burst plus what came back meanwhile.
    expect(allowed).toBeGreaterThanOrEqual(burst);
    expect(allowed).toBeLessThanOrEqual(burst + Math.ceil(((Date.now() - started) / 1000) * perSecond));
    expect(blocked && expectError(blocked, 429, "rate_limited").message).toContain(
      "sign-ins from this address",
    );
  });

  it("stops mass sign-ups from one address, creating no account past the limit", async () => {
    const address = "203.0.113.9";
    const signup = (email: string) =>
      ctx.app.inject({
        method: "POST",
        url: "/v1/auth/signup",
        remoteAddress: address,
        payload: { email, password: PASSWORD, name: "Bulk" },
      });
    for (let i = 0; i < rateLimits.signupPerAddress.burst; i++) {
      expect((await signup(uniqueEmail("bulk"))).statusCode).toBe(201);
    }
    const refused = uniqueEmail("bulk");
    expect(expectError(await signup(refused), 429, "rate_limited").message).toContain(
      "sign-ups from this address",
    );
    expectError(await login(refused, PASSWORD, "203.0.113.10"), 401, "invalid_credentials");
  });

  it("limits the checkouts one organization opens, plans and credits together", async () => {
    const team = await makeTeam(ctx.app);
    const statuses: number[] = [];
    for (let i = 0; i < rateLimits.checkoutPerOrg.burst; i++) {
      const response = await team.owner.request("POST", `/v1/orgs/${team.org.id}/checkout/credits`, {
        amount: 10 + i,
      });
      statuses.push(response.statusCode);
    }
    expect(statuses.every((status) => status === 200)).toBe(true);
    const plan = await team.owner.request("POST", `/v1/orgs/${team.org.id}/checkout/subscription`, {
      plan: "maker",
      interval: "month",
    });
    expect(expectError(plan, 429, "rate_limited").message).toContain("checkouts of this organization");
    const sessions = await ctx.db.kysely
      .selectFrom("checkout_sessions")
      .selectAll()
      .where("org_id", "=", team.org.id)
      .execute();
    expect(sessions).toHaveLength(rateLimits.checkoutPerOrg.burst);
    // Another organization is not held back.
    const other = await makeTeam(ctx.app);
    const theirs = await other.owner.request("POST", `/v1/orgs/${other.org.id}/checkout/credits`, {
      amount: 5,
    });
    expect(theirs.statusCode).toBe(200);
  });

  it("refuses a batch over 1,000 events and a body over 1 MiB, storing nothing", async () => {
    const team = await makeTeam(ctx.app);
    const key = await usageKey(ctx.db, team.org.id);
    const event = (i: number) => ({
      id: `big-${i}`,
      org_id: team.org.id,
      app_id: "app",
      metric: "mau",
      device_id: `d-${i}`,
      timestamp: new Date().toISOString(),
    });
    const send = (payload: string) =>
      ctx.app.inject({
        method: "POST",
        url: "/v1/usage/events",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        payload,
      });
    const tooMany = await send(JSON.stringify({ events: Array.from({ length: 1001 }, (_, i) => event(i)) }));
    expect(expectError(tooMany, 400, "invalid_request").message).toContain("body.events");
    const padding = "x".repeat(BODY_LIMIT_BYTES);
    const tooBig = await send(JSON.stringify({ events: [{ ...event(0), app_id: padding }] }));
    expectError(tooBig, 413, "payload_too_large");
    const stored = await ctx.db.kysely
      .selectFrom("usage_events")
      .select("id")
      .where("org_id", "=", team.org.id)
      .execute();
    expect(stored).toEqual([]);
  });
});
