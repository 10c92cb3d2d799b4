import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type { LightMyRequestResponse } from "fastify";
import pino from "pino";
import { expect, it } from "vitest";
import { actionLimits, MAX_LIVE_API_KEYS } from "../../src/domain/actionLimits.js";
import { BODY_LIMIT_BYTES, createApp, HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS } from "../../src/http/app.js";
import { DEVICE_COOKIE } from "../../src/http/auth.js";
import { rateLimits } from "../../src/http/rateLimits.js";
import { createApiKey } from "../../src/services/accounts/apiKeys.js";
import {
  Browser,
  describeEachEngine,
  expectError,
  makeOrg,
  makeTeam,
  signUp,
  type TestContext,
  uniqueEmail,
  usageKey,
} from "../support/app.js";

const PASSWORD = "correct horse battery";

function loginAs(
  ctx: TestContext,
  {
    email,
    password,
    from,
    headers = {},
  }: { email: string; password: string; from: string; headers?: Record<string, string> },
) {
  return ctx.app.inject({
    method: "POST",
    url: "/v1/auth/login",
    remoteAddress: from,
    headers,
    payload: { email, password },
  });
}

/** A connection to the server that has sent nothing yet, or has been closed by it. */
interface Connection {
  socket: net.Socket;
  /** Everything the server sent. */
  received: () => string;
  /** Milliseconds from connecting to the server closing it, once it has. */
  closedAfter: () => number | null;
  closed: Promise<void>;
}

function connect(url: string): Promise<Connection> {
  const { hostname, port } = new URL(url);
  const socket = net.connect({ host: hostname, port: Number(port) });
  let received = "";
  let closedAt: number | null = null;
  const openedAt = performance.now();
  socket.on("data", (chunk) => {
    received += chunk.toString("latin1");
  });
  // A connection refused or cut by the server may end in a reset: it is closed all the same.
  socket.on("error", () => {});
  const closed = new Promise<void>((resolve) =>
    socket.on("close", () => {
      closedAt = performance.now();
      resolve();
    }),
  );
  return new Promise((resolve, reject) => {
    socket.once("connect", () =>
      resolve({
        socket,
        received: () => received,
        closedAfter: () => (closedAt === null ? null : closedAt - openedAt),
        closed,
      }),
    );
    socket.once("error", reject);
  });
}

/**
 * Sends `head`, then `drip` every half second, as a slow client does, until the server closes the
 * connection or `giveUpMs` pass; answers when it was closed (null: never) and what it said.
 */
async function trickle({
  url,
  head,
  drip,
  giveUpMs,
}: {
  url: string;
  head: string;
  drip: string;
  giveUpMs: number;
}) {
  const connection = await connect(url);
  connection.socket.write(head);
  const dripping = setInterval(() => connection.socket.write(drip), 500);
  await Promise.race([connection.closed, sleep(giveUpMs)]);
  clearInterval(dripping);
  connection.socket.destroy();
  return { closedAfter: connection.closedAfter(), received: connection.received() };
}

describeEachEngine("abuse limits", (ctx) => {
  const DAY_MS = 86_400_000;

  function login(
    email: string,
    password: string,
    from: string,
    cookie?: string,
    headers: Record<string, string> = {},
  ) {
    return loginAs(ctx, { email, password, from, headers: { ...headers, ...(cookie ? { cookie } : {}) } });
  }

  /** The device cookie a sign-in or sign-up gave, as a Cookie header. */
  function deviceCookieOf(response: LightMyRequestResponse): string {
    const cookie = response.cookies.find((one) => one.name === DEVICE_COOKIE);
    if (!cookie) throw new Error(`no device cookie in ${response.statusCode} ${response.body}`);
    return `${DEVICE_COOKIE}=${cookie.value}`;
  }

  it("guessing an account's password from many addresses never locks out its owner, and the guesser stays limited", async () => {
    const person = await signUp(ctx.app);
    const email = person.user.email;
    const home = "192.0.2.50";
    // The owner's laptop signed in before: it holds a device cookie for the account.
    const laptopSignIn = await login(email, PASSWORD, home);

    // Ten wrong passwords from the attacker's address, and that address is held back...
    const attacker = "198.51.100.20";
    for (let i = 0; i < rateLimits.loginPerAccountAddress.burst; i++) {
      expectError(await login(email, "wrong password!", attacker), 401, "invalid_credentials");
    }
    const held = await login(email, "wrong password!", attacker);
    expect(expectError(held, 429, "rate_limited").message).toContain(
      "sign-ins to this account from this address",
    );
    expect(Number(held.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    // ...while the owner, from home with no cookie at all, signs in at once.
    expect((await login(email, PASSWORD, home)).statusCode).toBe(200);
    expectError(await login(email, PASSWORD, attacker), 429, "rate_limited");

    // Then from address after address, until the account's own allowance is spent.
    let tries = 0;
    let refused: LightMyRequestResponse | null = null;
    while (!refused && tries < rateLimits.loginPerAccount.burst) {
      const response = await login(email, "wrong password!", `198.51.100.${100 + tries}`);
      if (response.statusCode === 429) refused = response;
      else expectError(response, 401, "invalid_credentials");
      tries += 1;
    }
    expect(refused && expectError(refused, 429, "rate_limited").message).toContain(
      "sign-ins to this account from browsers not used for it before",
    );
    // The owner's laptop, on a network it never used, signs in at once with its device cookie...
    const away = await login(email, PASSWORD, "203.0.113.80", deviceCookieOf(laptopSignIn));
    expect(away.statusCode, away.body).toBe(200);
    // ...and the attacker stays held back from a new address, with a made-up device cookie, or
    // with the device cookie of an account of their own.
    expectError(await login(email, PASSWORD, "198.51.100.200"), 429, "rate_limited");
    const madeUp = `${DEVICE_COOKIE}=${"A".repeat(43)}`;
    expectError(await login(email, PASSWORD, "198.51.100.201", madeUp), 429, "rate_limited");
    const own = await signUp(ctx.app);
    const ownCookie = deviceCookieOf(await login(own.user.email, PASSWORD, "198.51.100.202"));
    expectError(await login(email, PASSWORD, "198.51.100.203", ownCookie), 429, "rate_limited");
    // Another account is not held back by any of it.
    expect((await login(own.user.email, PASSWORD, "198.51.100.204")).statusCode).toBe(200);
    // A minute later the account takes one more attempt from anywhere.
    ctx.clock.offsetMs = 61_000;
    try {
      expect((await login(email, PASSWORD, "198.51.100.205")).statusCode).toBe(200);
    } finally {
      ctx.clock.offsetMs = 0;
    }
  });

  it("a device cookie is limited per browser: ten wrong passwords with it, then one a minute", async () => {
    const person = await signUp(ctx.app);
    const email = person.user.email;
    const cookie = deviceCookieOf(await login(email, PASSWORD, "192.0.2.60"));
    for (let i = 0; i < rateLimits.loginPerDevice.burst; i++) {
      const address = `192.0.2.${61 + i}`;
      expectError(await login(email, "wrong password!", address, cookie), 401, "invalid_credentials");
    }
    const held = await login(email, PASSWORD, "192.0.2.90", cookie);
    expect(expectError(held, 429, "rate_limited").message).toContain("sign-ins from this browser");
    // The account itself is not spent by it: the owner elsewhere, without the cookie, gets in.
    expect((await login(email, PASSWORD, "192.0.2.91")).statusCode).toBe(200);
  });

  it("ignores a forged X-Forwarded-For without TRUST_PROXY: the socket's address is the one limited", async () => {
    const person = await signUp(ctx.app);
    const address = "198.51.100.30";
    for (let i = 0; i < rateLimits.loginPerAccountAddress.burst; i++) {
      const forged = { "x-forwarded-for": `203.0.113.${i + 1}` };
      const response = await login(person.user.email, "wrong password!", address, undefined, forged);
      expectError(response, 401, "invalid_credentials");
    }
    const forged = { "x-forwarded-for": "203.0.113.99" };
    const held = await login(person.user.email, PASSWORD, address, undefined, forged);
    expect(expectError(held, 429, "rate_limited").message).toContain("from this address");
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

  it(
    "cuts a client trickling its headers or its body within the time allowed, answering 408",
    async () => {
      const giveUpMs = REQUEST_TIMEOUT_MS + 5_000;
      const [headers, body] = await Promise.all([
        trickle({
          url: ctx.url,
          head: "POST /v1/auth/login HTTP/1.1\r\nhost: meterline\r\n",
          drip: "x-slow: 1\r\n",
          giveUpMs,
        }),
        trickle({
          url: ctx.url,
          head:
            "POST /v1/auth/login HTTP/1.1\r\nhost: meterline\r\ncontent-type: application/json\r\n" +
            `content-length: ${BODY_LIMIT_BYTES}\r\n\r\n{"email":"`,
          drip: "a",
          giveUpMs,
        }),
      ]);
      // Node checks the deadlines every second.
      expect(headers.closedAfter, "a client trickling its headers is cut").not.toBeNull();
      expect(headers.closedAfter).toBeLessThan(HEADERS_TIMEOUT_MS + 2_000);
      expect(headers.received).toMatch(/^HTTP\/1\.1 408 /);
      expect(headers.received).toContain('{"error":{"code":"request_timeout"');
      expect(body.closedAfter, "a client trickling its body is cut").not.toBeNull();
      expect(body.closedAfter).toBeGreaterThan(HEADERS_TIMEOUT_MS);
      expect(body.closedAfter).toBeLessThan(REQUEST_TIMEOUT_MS + 2_000);
      expect(body.received).toMatch(/^HTTP\/1\.1 408 /);
      expect(body.received).toContain('{"error":{"code":"request_timeout"');
    },
    REQUEST_TIMEOUT_MS + 15_000,
  );

  // Daily limits counted from the database: they hold across processes and restarts.

  /** The same server started again over the same database: nothing of the first in memory. */
  async function restarted() {
    return createApp({
      config: ctx.config,
      db: ctx.db,
      clock: ctx.clock,
      logger: pino({ level: "silent" }),
      stripe: { gateway: ctx.stripe, webhookSecrets: [ctx.webhookSecret] },
      entitlements: ctx.entitlements,
    });
  }

  /**
   * A daily limit's refusal: 429 naming what was limited, and Retry-After the seconds until the
   * oldest counted action (`oldest`) leaves the 24 hours, as of the request (sent between `from`
   * and `to`).
   */
  function expectDailyLimit(
    response: LightMyRequestResponse,
    what: string,
    { oldest, from, to }: { oldest: Date; from: Date; to: Date },
  ) {
    expect(expectError(response, 429, "rate_limited").message).toContain(`Too many ${what}`);
    const seconds = (at: Date) => Math.ceil((oldest.getTime() + DAY_MS - at.getTime()) / 1000);
    const retryAfter = Number(response.headers["retry-after"]);
    expect(retryAfter).toBeGreaterThanOrEqual(seconds(to));
    expect(retryAfter).toBeLessThanOrEqual(seconds(from));
  }

  /** Sends the request, noting the app's time around it. */
  async function timed(send: () => Promise<LightMyRequestResponse>) {
    const from = ctx.clock.now();
    const response = await send();
    return { response, from, to: ctx.clock.now() };
  }

  /** Runs `act` with the app's clock a day and a second ahead. */
  async function aDayLater<T>(act: () => Promise<T>): Promise<T> {
    ctx.clock.offsetMs = DAY_MS + 1_000;
    try {
      return await act();
    } finally {
      ctx.clock.offsetMs = 0;
    }
  }

  it("limits the organizations one person creates in 24 hours, even after a restart, creating none past it", async () => {
    const person = await signUp(ctx.app);
    const { max } = actionLimits.orgsPerUser;
    for (let i = 0; i < max; i++) await makeOrg(person, { name: `Org ${i}` });
    const [oldest] = await ctx.db.kysely
      .selectFrom("orgs")
      .select("created_at")
      .where("created_by", "=", person.user.id)
      .orderBy("created_at")
      .execute();
    const again = await restarted();
    try {
      const { response, from, to } = await timed(() =>
        new Browser(again, person.user, person.cookie, person.csrfToken).request("POST", "/v1/orgs", {
          name: "One too many",
        }),
      );
      expectDailyLimit(response, "organizations created by one person", {
        oldest: oldest?.created_at as Date,
        from,
        to,
      });
    } finally {
      await again.close();
    }
    const me = (await person.request("GET", "/v1/me")).json();
    expect(me.orgs).toHaveLength(max);
    expect(me.orgs.map((org: { name: string }) => org.name)).not.toContain("One too many");
    // Someone else is not held back.
    const other = await signUp(ctx.app);
    expect((await other.request("POST", "/v1/orgs", { name: "Mine" })).statusCode).toBe(201);
    // A day later the person may create organizations again.
    await aDayLater(async () => {
      expect((await person.request("POST", "/v1/orgs", { name: "Next day" })).statusCode).toBe(201);
    });
  });

  it.skipIf(ctx.engine !== "postgres")(
    "holds the daily limit when a person's requests race on several connections",
    async () => {
      const person = await signUp(ctx.app);
      const { max } = actionLimits.orgsPerUser;
      const responses = await Promise.all(
        Array.from({ length: max + 5 }, (_, i) => person.request("POST", "/v1/orgs", { name: `Race ${i}` })),
      );
      const statuses = responses.map((response) => response.statusCode).sort();
      expect(statuses).toEqual([...Array(max).fill(201), ...Array(5).fill(429)]);
      expect((await person.request("GET", "/v1/me")).json().orgs).toHaveLength(max);
    },
  );

  it("limits the API keys an organization creates in 24 hours, storing none past it", async () => {
    const team = await makeTeam(ctx.app);
    const newKey = (browser: Browser, orgId: string) =>
      browser.request("POST", `/v1/orgs/${orgId}/api-keys`, { name: "ci", scopes: ["usage:write"] });
    const { max } = actionLimits.apiKeysPerOrg;
    for (let i = 0; i < max; i++) expect((await newKey(team.owner, team.org.id)).statusCode).toBe(201);
    const keys = () =>
      ctx.db.kysely
        .selectFrom("api_keys")
        .select("created_at")
        .where("org_id", "=", team.org.id)
        .orderBy("created_at")
        .execute();
    const [oldest] = await keys();
    // The admin is refused too: the limit is the organization's.
    const { response, from, to } = await timed(() => newKey(team.admin, team.org.id));
    expectDailyLimit(response, "API keys created in this organization", {
      oldest: oldest?.created_at as Date,
      from,
      to,
    });
    expect(await keys()).toHaveLength(max);
    expect((await newKey(team.outsider, team.otherOrg.id)).statusCode).toBe(201);
    await aDayLater(async () => {
      expect((await newKey(team.owner, team.org.id)).statusCode).toBe(201);
    });
  });

  it("bounds an organization's live API keys, asking to revoke one first", async () => {
    const team = await makeTeam(ctx.app);
    // Created over past days, so the daily limit is not what stops the next one.
    const past = new Date(Date.now() - 7 * DAY_MS);
    for (let i = 0; i < MAX_LIVE_API_KEYS; i++) {
      await createApiKey({
        db: ctx.db.kysely,
        orgId: team.org.id,
        name: `old ${i}`,
        scopes: ["usage:write"],
        createdBy: null,
        now: past,
      });
    }
    const create = () =>
      team.owner.request("POST", `/v1/orgs/${team.org.id}/api-keys`, {
        name: "one more",
        scopes: ["usage:write"],
      });
    const full = await create();
    expect(expectError(full, 409, "limit_reached").message).toMatch(
      new RegExp(`has ${MAX_LIVE_API_KEYS} live API keys.*revoke one`),
    );
    const listed = (await team.owner.request("GET", `/v1/orgs/${team.org.id}/api-keys`)).json().items;
    expect(listed).toHaveLength(MAX_LIVE_API_KEYS);
    const revoked = await team.owner.request("DELETE", `/v1/orgs/${team.org.id}/api-keys/${listed[0].id}`);
    expect(revoked.statusCode).toBe(200);
    expect((await create()).statusCode).toBe(201);
  });

  it("limits the custom-plan requests an organization sends in 24 hours, storing and emailing none past it", async () => {
    const team = await makeTeam(ctx.app);
    const ask = (browser: Browser, orgId: string) =>
      browser.request("POST", `/v1/orgs/${orgId}/contact-sales`, { message: "We need 50M MAU" });
    const { max } = actionLimits.contactSalesPerOrg;
    for (let i = 0; i < max; i++) expect((await ask(team.owner, team.org.id)).statusCode).toBe(201);
    const stored = () =>
      ctx.db.kysely
        .selectFrom("contact_requests")
        .select("created_at")
        .where("org_id", "=", team.org.id)
        .orderBy("created_at")
        .execute();
    const [oldest] = await stored();
    const { response, from, to } = await timed(() => ask(team.billing_admin, team.org.id));
    expectDailyLimit(response, "custom-plan requests from this organization", {
      oldest: oldest?.created_at as Date,
      from,
      to,
    });
    expect(await stored()).toHaveLength(max);
    const emailed = await ctx.db.kysely
      .selectFrom("emails")
      .select("id")
      .where("org_id", "=", team.org.id)
      .where("kind", "=", "contact_sales")
      .execute();
    expect(emailed).toHaveLength(max);
    expect((await ask(team.outsider, team.otherOrg.id)).statusCode).toBe(201);
    await aDayLater(async () => {
      expect((await ask(team.owner, team.org.id)).statusCode).toBe(201);
    });
  });

  it("limits the confirmation links an organization sends to new billing emails in 24 hours, changing nothing past it", async () => {
    const team = await makeTeam(ctx.app);
    const setBillingEmail = (browser: Browser, orgId: string, label: string) =>
      browser.request("PATCH", `/v1/orgs/${orgId}`, { billing_email: uniqueEmail(label) });
    const { max } = actionLimits.billingEmailLinksPerOrg;
    for (let i = 0; i < max; i++) {
      expect((await setBillingEmail(team.owner, team.org.id, "billing")).statusCode).toBe(200);
    }
    const org = () => team.owner.request("GET", `/v1/orgs/${team.org.id}`).then((r) => r.json());
    const before = await org();
    const links = () =>
      ctx.db.kysely
        .selectFrom("billing_email_confirmations")
        .select("created_at")
        .where("org_id", "=", team.org.id)
        .orderBy("created_at")
        .execute();
    const [oldest] = await links();
    const { response, from, to } = await timed(() =>
      setBillingEmail(team.billing_admin, team.org.id, "spam"),
    );
    expectDailyLimit(response, "billing email confirmations sent for this organization", {
      oldest: oldest?.created_at as Date,
      from,
      to,
    });
    expect(await org()).toEqual(before);
    expect(await links()).toHaveLength(max);
    expect((await setBillingEmail(team.outsider, team.otherOrg.id, "theirs")).statusCode).toBe(200);
    await aDayLater(async () => {
      expect((await setBillingEmail(team.owner, team.org.id, "billing")).statusCode).toBe(200);
    });
  });
});

describeEachEngine(
  "client addresses behind a trusted proxy",
  (ctx) => {
    const proxy = "203.0.113.5";
    const otherProxy = "192.0.2.130";
    const wrong = async (email: string, from: string, forwardedFor: string) =>
      loginAs(ctx, {
        email,
        password: "wrong password!",
        from,
        headers: { "x-forwarded-for": forwardedFor },
      });

    it("limits the address a trusted proxy forwards, not the proxy's, and believes nothing left of it", async () => {
      const person = await signUp(ctx.app);
      const email = person.user.email;
      const client = "198.51.100.1";
      for (let i = 0; i < rateLimits.loginPerAccountAddress.burst; i++) {
        expectError(await wrong(email, proxy, client), 401, "invalid_credentials");
      }
      const held = await wrong(email, proxy, client);
      expect(expectError(held, 429, "rate_limited").message).toContain("from this address");
      // The same client through the other trusted proxy is the same client.
      expectError(await wrong(email, otherProxy, client), 429, "rate_limited");
      // Another client through the same proxy is not held back.
      expectError(await wrong(email, proxy, "198.51.100.2"), 401, "invalid_credentials");
      // A client naming the held-back address itself, which the proxy then appends to: the
      // proxy's own entry is the client.
      expectError(await wrong(email, proxy, `${client}, 198.51.100.3`), 401, "invalid_credentials");
    });

    it("takes X-Forwarded-For from no one else: an untrusted peer is limited by its own address", async () => {
      const person = await signUp(ctx.app);
      const peer = "198.51.100.50";
      for (let i = 0; i < rateLimits.loginPerAccountAddress.burst; i++) {
        expectError(await wrong(person.user.email, peer, `203.0.113.${100 + i}`), 401, "invalid_credentials");
      }
      const held = await wrong(person.user.email, peer, "203.0.113.200");
      expect(expectError(held, 429, "rate_limited").message).toContain("from this address");
    });
  },
  { env: { TRUST_PROXY: "203.0.113.5, 192.0.2.128/28" } },
);

describeEachEngine(
  "the connection cap",
  (ctx) => {
    const CAP = 3;
    const healthz = "GET /healthz HTTP/1.1\r\nhost: meterline\r\n\r\n";

    async function answered(connection: Connection, before: number) {
      connection.socket.write(healthz);
      for (let waited = 0; waited < 5_000; waited += 10) {
        const replies = connection.received().match(/HTTP\/1\.1 200 /g) ?? [];
        if (replies.length > before) return true;
        if (connection.closedAfter() !== null) return false;
        await sleep(10);
      }
      return false;
    }

    it("closes connections past MAX_CONNECTIONS as they arrive, serving those it holds", async () => {
      const held: Connection[] = [];
      try {
        for (let i = 0; i < CAP; i++) {
          const connection = await connect(ctx.url);
          held.push(connection);
          expect(await answered(connection, 0), `connection ${i + 1} is served`).toBe(true);
        }
        const extra = await connect(ctx.url);
        held.push(extra);
        extra.socket.write(healthz);
        await Promise.race([extra.closed, sleep(2_000)]);
        expect(extra.closedAfter(), "the connection past the cap is closed").not.toBeNull();
        expect(extra.received()).toBe("");
        for (const connection of held.slice(0, CAP)) expect(await answered(connection, 1)).toBe(true);
        // Once one closes, a new connection is served again.
        held[0]?.socket.destroy();
        await held[0]?.closed;
        await sleep(100);
        const next = await connect(ctx.url);
        held.push(next);
        expect(await answered(next, 0)).toBe(true);
      } finally {
        for (const connection of held) connection.socket.destroy();
      }
    });
  },
  { env: { MAX_CONNECTIONS: "3" } },
);
