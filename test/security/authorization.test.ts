import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { InjectOptions, LightMyRequestResponse } from "fastify";
import { beforeAll, describe, expect, it } from "vitest";
import { insertSession } from "../../src/db/sessionRepo.js";
import { type KeyScope, type Permission, permissions } from "../../src/domain/access.js";
import { sha256Hex } from "../../src/domain/sha256.js";
import { SESSION_COOKIE } from "../../src/http/auth.js";
import { createApiKey } from "../../src/services/accounts/apiKeys.js";
import { startSession } from "../../src/services/accounts/sessions.js";
import {
  Browser,
  describeEachEngine,
  makeTeam,
  signUp,
  type TestContext,
  uniqueEmail,
} from "../support/app.js";
import { deliverWebhook, payCheckout, subscribe } from "../support/stripe.js";

/**
 * The authorization matrix: every route of the OpenAPI document, tried by every kind of caller,
 * against one table saying who may call it. A route the document has and the table lacks fails
 * the suite, so no route goes unreviewed. A refused caller gets exactly the refusal the rules
 * below derive from the table, learns nothing of the organization it aimed at, and changes
 * nothing of it (its state, read by its owner, is the same before and after).
 */

// ---------------------------------------------------------------------------------------------
// Callers

const ROLES = ["owner", "billing_admin", "admin", "member"] as const;
type RoleCaller = (typeof ROLES)[number];
/** Signed in, owner of another organization, member of none of the target's. */
const OUTSIDER = "user of another org";
/** The owner's session cookie without the CSRF header, as a cross-site form would send it. */
const NO_CSRF = "owner without CSRF header";
/**
 * Service keys. On a route taking a scope an org key can carry, "wrong scope" lacks it and
 * "right scope" has it alone; on session and admin routes, where no org key's scope is right,
 * both org keys carry every scope an org key may have. The revoked key carries every org scope
 * and was used (so remembered by the key cache) before its owner revoked it.
 */
const KEY_CALLERS = [
  "org key, wrong scope",
  "revoked org key",
  "other org's key, right scope",
  "platform key without admin",
  "org key, right scope",
  "platform admin key",
] as const;
type KeyCaller = (typeof KEY_CALLERS)[number];
type Caller = "anonymous" | typeof OUTSIDER | RoleCaller | typeof NO_CSRF | KeyCaller;

const ORG_SCOPES: KeyScope[] = ["entitlements:read", "usage:write"];
/** The scopes of each platform key: the one without admin carries both org scopes. */
const PLATFORM_SCOPES = {
  "platform key without admin": ORG_SCOPES,
  "platform admin key": ["admin"],
} as const satisfies Partial<Record<KeyCaller, readonly KeyScope[]>>;

const SIGNED_IN: readonly Caller[] = [OUTSIDER, ...ROLES];
const ANY_MEMBER: readonly Caller[] = ROLES;
const BILLING_READERS: readonly Caller[] = ["owner", "billing_admin", "admin"];
const BILLING_WRITERS: readonly Caller[] = ["owner", "billing_admin"];
const MEMBER_MANAGERS: readonly Caller[] = ["owner", "admin"];
const SERVICES: readonly Caller[] = ["org key, right scope", "platform key without admin"];
const PLATFORM_ADMINS: readonly Caller[] = ["platform admin key"];

// ---------------------------------------------------------------------------------------------
// Outcomes

interface Refusal {
  status: 401 | 403 | 404;
  code: string;
}
const UNAUTHENTICATED: Refusal = { status: 401, code: "unauthenticated" };
const CSRF_FAILED: Refusal = { status: 403, code: "csrf_failed" };
const FORBIDDEN: Refusal = { status: 403, code: "forbidden" };
/** Another organization's resources answer as if they did not exist. */
const NOT_FOUND: Refusal = { status: 404, code: "not_found" };
/** A usage batch judges each event: one for an org the key may not report for is refused alone. */
const EVENTS_REFUSED = "200, every event refused as unknown_org";
/** A cursor of another org pages the caller's own org, never the other's. */
const OWN_DATA_ONLY = "200, the caller's own org's items only";
type Outcome = Refusal | typeof EVENTS_REFUSED | typeof OWN_DATA_ONLY;

// ---------------------------------------------------------------------------------------------
// The table

/** The ids a request names: org in the path or body, key id, Checkout Session, page cursor. */
interface Ids {
  org: string;
  key: string;
  session: string;
  cursor: string | null;
}

interface CallEnv {
  /** Allowed callers send a request that should succeed; refused ones the most damaging one. */
  allowed: boolean;
  /** The caller's own email, or the outsider's for callers without a session. */
  email: string;
  fx: Fixture;
  /** Unique per request, for usage event ids. */
  seq: number;
}

interface Call {
  query?: string;
  body?: unknown;
}

/** A legitimate caller naming the other side's ids where the route takes ids. */
interface ForeignCase {
  label: string;
  caller: "owner" | typeof OUTSIDER | "org key, right scope";
  ids: (fx: Fixture) => Partial<Ids>;
  /** Whose state must not change, and whose data must not show. */
  victim: "target" | "other";
  outcome: Outcome;
}

interface GuardedRow {
  auth: "session" | "key";
  /** The callers that get through; everyone else is refused by the rules of `expectedFor`. */
  allowed: readonly Caller[];
  /** Organization routes: the permission of src/domain/access.ts the route asks for. */
  permission?: Permission;
  /** Key routes: the scope the key must carry. */
  scope?: KeyScope;
  call?: (ids: Ids, env: CallEnv) => Call;
  /** Ids an allowed caller uses instead of the shared ones (a key it may revoke). */
  allowedIds?: (fx: Fixture) => Promise<Partial<Ids>>;
  /** Allowed callers use a fresh session of their own (the route ends it). */
  freshSession?: true;
  /** The route ends every session of its caller: an allowed caller's fixture session is reopened. */
  endsEverySession?: true;
  /** Key routes: what another org's key with the right scope gets (404 unless said). */
  otherOrgKey?: Outcome;
  /** Foreign-id cases besides "the owner naming the other org" on every org route. */
  foreign?: ForeignCase[];
  checkAllowed?: (caller: Caller, response: LightMyRequestResponse, fx: Fixture) => void;
}

interface PublicRow {
  auth: "public";
  /** What the sanity cases show, for the test's name, and how many requests they make. */
  sanity: string;
  cases: number;
  run: (tools: Tools) => Promise<void>;
}

type Row = GuardedRow | PublicRow;

const table: Record<string, Row> = {
  "GET /healthz": {
    auth: "public",
    sanity: "answers anyone, naming no organization",
    cases: 1,
    run: async ({ ctx, fx, expectNothingOf }) => {
      const response = await ctx.app.inject({ method: "GET", url: "/healthz" });
      expect(response.statusCode).toBe(200);
      expectNothingOf(fx.target, response, "", "GET /healthz");
    },
  },
  "POST /v1/auth/signup": {
    auth: "public",
    sanity: "a taken email gets 409 and no session; a new one signs up into no organization",
    cases: 2,
    run: async ({ ctx, fx, expectNothingOf, unchanged }) => {
      const owner = fx.people.owner.user.email;
      const taken = await unchanged(fx.target, "signup with the owner's email", () =>
        ctx.app.inject({
          method: "POST",
          url: "/v1/auth/signup",
          remoteAddress: "203.0.113.10",
          payload: { email: owner, password: "another password", name: "Impostor" },
        }),
      );
      expect(taken.statusCode, taken.body).toBe(409);
      expect(taken.json().error.code).toBe("email_taken");
      expect(taken.cookies).toEqual([]);
      expectNothingOf(fx.target, taken, owner, "signup with the owner's email");
      const fresh = await signUp(ctx.app);
      const me = (await fresh.request("GET", "/v1/me")).json();
      expect(me.orgs).toEqual([]);
    },
  },
  "POST /v1/auth/login": {
    auth: "public",
    sanity: "a wrong password gets 401 and no session; the right one signs in",
    cases: 2,
    run: async ({ ctx, fx, expectNothingOf }) => {
      const email = fx.people.owner.user.email;
      const login = (password: string) =>
        ctx.app.inject({
          method: "POST",
          url: "/v1/auth/login",
          remoteAddress: "203.0.113.11",
          payload: { email, password },
        });
      const wrong = await login("not the password");
      expect(wrong.statusCode, wrong.body).toBe(401);
      expect(wrong.json().error.code).toBe("invalid_credentials");
      expect(wrong.cookies).toEqual([]);
      expectNothingOf(fx.target, wrong, email, "login with a wrong password");
      const right = await login(PASSWORD);
      expect(right.statusCode, right.body).toBe(200);
      expect(right.json().user.email).toBe(email);
    },
  },
  "POST /v1/auth/logout": { auth: "session", allowed: SIGNED_IN, freshSession: true },
  "POST /v1/auth/logout-all": {
    auth: "session",
    allowed: SIGNED_IN,
    freshSession: true,
    endsEverySession: true,
  },
  "POST /v1/auth/password": {
    auth: "session",
    allowed: SIGNED_IN,
    // Allowed callers keep their password (so later rows still sign in); refused ones would set one.
    call: (_ids, { allowed }) => ({
      body: { current_password: PASSWORD, new_password: allowed ? PASSWORD : "taken over, for good" },
    }),
  },
  "GET /v1/me": {
    auth: "session",
    allowed: SIGNED_IN,
    checkAllowed: (caller, response, fx) => {
      if (caller === OUTSIDER) return;
      expect(response.json().orgs).toContainEqual({ id: fx.target.id, name: fx.target.name, role: caller });
    },
  },
  "POST /v1/orgs": { auth: "session", allowed: SIGNED_IN, call: () => ({ body: { name: "Side project" } }) },
  "GET /v1/orgs/{org}": {
    auth: "session",
    permission: "org:read",
    allowed: ANY_MEMBER,
    checkAllowed: (caller, response, fx) => {
      // Members see no billing data.
      const billingEmail = caller === "member" ? null : fx.target.billingEmail;
      expect(response.json(), `${caller} sees billing_email ${billingEmail}`).toMatchObject({
        id: fx.target.id,
        role: caller,
        billing_email: billingEmail,
      });
    },
  },
  "PATCH /v1/orgs/{org}": {
    auth: "session",
    permission: "billing:write",
    allowed: BILLING_WRITERS,
    call: (_ids, { allowed, email }) => ({
      body: allowed ? { country: "DE" } : { name: "Taken over", billing_email: email, country: "FR" },
    }),
  },
  "GET /v1/orgs/{org}/members": { auth: "session", permission: "org:read", allowed: ANY_MEMBER },
  "POST /v1/orgs/{org}/members": {
    auth: "session",
    permission: "members:write",
    allowed: MEMBER_MANAGERS,
    // Refused callers try to make themselves owners; allowed ones add someone as a member.
    call: (_ids, { allowed, email, fx }) => ({
      body: allowed ? { email: fx.spare.user.email, role: "member" } : { email, role: "owner" },
    }),
  },
  "GET /v1/orgs/{org}/api-keys": { auth: "session", permission: "members:write", allowed: MEMBER_MANAGERS },
  "POST /v1/orgs/{org}/api-keys": {
    auth: "session",
    permission: "members:write",
    allowed: MEMBER_MANAGERS,
    call: () => ({ body: { name: "ci", scopes: ["usage:write"] } }),
  },
  "DELETE /v1/orgs/{org}/api-keys/{key}": {
    auth: "session",
    permission: "members:write",
    allowed: MEMBER_MANAGERS,
    // Refused callers aim at a live key of the org; each allowed one revokes a key of its own.
    allowedIds: async (fx) => ({ key: (await fx.newTargetKey()).id }),
    foreign: [
      {
        label: "owner, the other org's key id under this org",
        caller: "owner",
        ids: (fx) => ({ key: fx.other.keys.sentinel.id }),
        victim: "other",
        outcome: NOT_FOUND,
      },
      {
        label: "user of another org, this org's key id under their own org",
        caller: OUTSIDER,
        ids: (fx) => ({ org: fx.other.id, key: fx.target.keys.sentinel.id }),
        victim: "target",
        outcome: NOT_FOUND,
      },
    ],
  },
  "POST /v1/usage/events": {
    auth: "key",
    scope: "usage:write",
    allowed: SERVICES,
    call: (ids, { seq }) => ({
      body: {
        events: [
          {
            id: `authz-${seq}`,
            org_id: ids.org,
            app_id: "ios",
            metric: "mau",
            device_id: `device-${seq}`,
            timestamp: new Date().toISOString(),
          },
        ],
      },
    }),
    otherOrgKey: EVENTS_REFUSED,
    foreign: [
      {
        label: "org key, an event for the other org",
        caller: "org key, right scope",
        ids: (fx) => ({ org: fx.other.id }),
        victim: "other",
        outcome: EVENTS_REFUSED,
      },
    ],
  },
  "GET /v1/orgs/{org}/usage": {
    auth: "session",
    permission: "billing:read",
    allowed: BILLING_READERS,
    call: () => ({ query: "include=daily,entitlements" }),
  },
  "GET /v1/orgs/{org}/advisor": {
    auth: "session",
    permission: "billing:read",
    allowed: BILLING_READERS,
  },
  "GET /v1/orgs/{org}/usage/daily": {
    auth: "session",
    permission: "billing:read",
    allowed: BILLING_READERS,
    call: () => ({ query: "metric=mau" }),
  },
  "POST /v1/check": {
    auth: "key",
    scope: "entitlements:read",
    allowed: SERVICES,
    call: (ids) => ({ body: { org_id: ids.org, action: "serve_update" } }),
    otherOrgKey: NOT_FOUND,
    foreign: [
      {
        label: "org key, the other org's org_id",
        caller: "org key, right scope",
        ids: (fx) => ({ org: fx.other.id }),
        victim: "other",
        outcome: NOT_FOUND,
      },
    ],
  },
  "GET /v1/orgs/{org}/entitlements": {
    auth: "session",
    permission: "billing:read",
    allowed: BILLING_READERS,
  },
  "GET /v1/plans": {
    auth: "public",
    sanity: "answers anyone with the catalog, naming no organization",
    cases: 1,
    run: async ({ ctx, fx, expectNothingOf }) => {
      const response = await ctx.app.inject({ method: "GET", url: "/v1/plans" });
      expect(response.statusCode).toBe(200);
      expect(response.json().plans.length).toBeGreaterThan(0);
      expectNothingOf(fx.target, response, "", "GET /v1/plans");
    },
  },
  "GET /v1/orgs/{org}/credits": { auth: "session", permission: "billing:read", allowed: BILLING_READERS },
  "GET /v1/orgs/{org}/credits/pricing": {
    auth: "session",
    permission: "billing:read",
    allowed: BILLING_READERS,
  },
  "GET /v1/orgs/{org}/credits/transactions": {
    auth: "session",
    permission: "billing:read",
    allowed: BILLING_READERS,
    call: (ids) => ({ query: `limit=500${ids.cursor ? `&cursor=${ids.cursor}` : ""}` }),
    foreign: [
      {
        label: "owner, the other org's ledger entry as cursor",
        caller: "owner",
        ids: (fx) => ({ cursor: fx.other.entryId }),
        victim: "other",
        outcome: OWN_DATA_ONLY,
      },
    ],
  },
  "GET /v1/orgs/{org}/credits/transactions.csv": {
    auth: "session",
    permission: "billing:read",
    allowed: BILLING_READERS,
  },
  "GET /v1/orgs/{org}/credits/estimate": {
    auth: "session",
    permission: "billing:read",
    allowed: BILLING_READERS,
    call: () => ({ query: "amount=100" }),
  },
  "POST /v1/orgs/{org}/checkout/credits": {
    auth: "session",
    permission: "billing:write",
    allowed: BILLING_WRITERS,
    call: () => ({ body: { amount: 100 } }),
  },
  "POST /v1/orgs/{org}/credits/complete": {
    auth: "session",
    permission: "billing:write",
    allowed: BILLING_WRITERS,
    // The org's own Checkout Session, not paid yet: allowed callers hear it is pending.
    call: (ids) => ({ body: { session_id: ids.session } }),
    foreign: [
      {
        label: "owner, the other org's paid Checkout Session under this org",
        caller: "owner",
        ids: (fx) => ({ session: fx.other.session }),
        victim: "target",
        outcome: NOT_FOUND,
      },
    ],
  },
  "PUT /v1/admin/orgs/{org}/credits/pricing": {
    auth: "key",
    scope: "admin",
    allowed: PLATFORM_ADMINS,
    call: () => ({
      body: {
        mau: [
          { up_to: 1000, price: "0.004" },
          { up_to: null, price: "0.002" },
        ],
      },
    }),
  },
  "POST /v1/admin/orgs/{org}/credits/grants": {
    auth: "key",
    scope: "admin",
    allowed: PLATFORM_ADMINS,
    call: () => ({ body: { amount: 5, note: "goodwill" } }),
  },
  "GET /v1/orgs/{org}/emails": {
    auth: "session",
    permission: "billing:read",
    allowed: BILLING_READERS,
    call: (ids) => ({ query: `limit=200${ids.cursor ? `&cursor=${ids.cursor}` : ""}` }),
    foreign: [
      {
        label: "owner, the other org's email as cursor",
        caller: "owner",
        ids: (fx) => ({ cursor: fx.other.emailId }),
        victim: "other",
        outcome: OWN_DATA_ONLY,
      },
    ],
  },
  "GET /v1/orgs/{org}/email-preferences": { auth: "session", permission: "org:read", allowed: ANY_MEMBER },
  "PATCH /v1/orgs/{org}/email-preferences": {
    auth: "session",
    permission: "org:read",
    allowed: ANY_MEMBER,
    call: () => ({ body: { usage_quota: false } }),
  },
  "GET /v1/orgs/{org}/subscription": {
    auth: "session",
    permission: "billing:read",
    allowed: BILLING_READERS,
  },
  "POST /v1/orgs/{org}/checkout/subscription": {
    auth: "session",
    permission: "billing:write",
    allowed: BILLING_WRITERS,
    call: () => ({ body: { plan: "maker", interval: "year" } }),
  },
  "POST /v1/orgs/{org}/subscription/change": {
    auth: "session",
    permission: "billing:write",
    allowed: BILLING_WRITERS,
    // Refused callers try an upgrade; allowed ones ask for the plan the org is on (a no-op).
    call: (_ids, { allowed }) => ({
      body: allowed ? { plan: "solo", interval: "month" } : { plan: "team", interval: "year" },
    }),
  },
  "POST /v1/orgs/{org}/subscription/cancel": {
    auth: "session",
    permission: "billing:write",
    allowed: BILLING_WRITERS,
  },
  "POST /v1/orgs/{org}/billing-portal": {
    auth: "session",
    permission: "billing:write",
    allowed: BILLING_WRITERS,
  },
  "POST /v1/orgs/{org}/contact-sales": {
    auth: "session",
    permission: "billing:read",
    allowed: BILLING_READERS,
    call: () => ({ body: { message: "We need 50M MAU" } }),
  },
  "POST /v1/billing-email/confirm": {
    auth: "public",
    sanity:
      "a made-up link, or the other org's secret under this org's id, gets 400 in the same words and changes nothing; the link mailed to the billing email confirms it",
    cases: 3,
    run: async ({ ctx, fx, expectNothingOf, unchanged }) => {
      const confirm = (token: string) =>
        ctx.app.inject({ method: "POST", url: "/v1/billing-email/confirm", payload: { token } });
      /** The token of the link the outbox holds for the org's billing email (what its inbox reads). */
      const linkOf = async (org: OrgFx) => {
        const { facts } = await ctx.db.kysely
          .selectFrom("emails")
          .select("facts")
          .where("org_id", "=", org.id)
          .where("kind", "=", "billing_email_confirmation")
          .executeTakeFirstOrThrow();
        if (facts.kind !== "billing_email_confirmation") throw new Error("not a confirmation");
        return facts.token;
      };
      const madeUp = `${fx.target.id}.${"A".repeat(43)}`;
      const refused = await unchanged(fx.target, "a made-up confirmation link", () => confirm(madeUp));
      expect(refused.statusCode, refused.body).toBe(400);
      expect(refused.json().error.code).toBe("invalid_token");
      expectNothingOf(fx.target, refused, madeUp, "a made-up confirmation link");
      const crossed = `${fx.target.id}.${(await linkOf(fx.other)).split(".")[1]}`;
      const theirs = await unchanged(fx.target, "the other org's secret under this org", () =>
        confirm(crossed),
      );
      expect(theirs.statusCode, theirs.body).toBe(400);
      expect(theirs.json().error.message).toBe(refused.json().error.message);
      const own = await confirm(await linkOf(fx.target));
      expect(own.statusCode, own.body).toBe(200);
      expect(own.json()).toMatchObject({ billing_email: fx.target.billingEmail, confirmed: true });
    },
  },
  "POST /v1/webhooks/stripe": {
    auth: "public",
    sanity: "an unsigned or wrongly signed event gets 400 and changes nothing",
    cases: 2,
    run: async ({ ctx, fx, unchanged }) => {
      const payload = JSON.stringify({
        id: `evt_forged${randomBytes(6).toString("hex")}`,
        object: "event",
        type: "checkout.session.completed",
        created: Math.floor(Date.now() / 1000),
        data: { object: { id: fx.target.session, object: "checkout.session" } },
      });
      const unsigned = await unchanged(fx.target, "an unsigned webhook", () =>
        ctx.app.inject({
          method: "POST",
          url: "/v1/webhooks/stripe",
          headers: { "content-type": "application/json" },
          payload,
        }),
      );
      expect(unsigned.statusCode, unsigned.body).toBe(400);
      expect(unsigned.json().error.code).toBe("invalid_signature");
      const forged = await unchanged(fx.target, "a webhook signed with another secret", () =>
        deliverWebhook(ctx, payload, { secret: "whsec_not_the_endpoints" }),
      );
      expect(forged.statusCode, forged.body).toBe(400);
      expect(forged.json().error.code).toBe("invalid_signature");
    },
  },
};

/**
 * What a caller the table does not allow gets. A session route refuses keys and anonymous
 * callers as unauthenticated, a write without the CSRF token as csrf_failed, a non-member as if
 * the org did not exist, and a member whose role lacks the permission as forbidden. A key route
 * refuses sessions and revoked keys as unauthenticated, then keys without the scope as
 * forbidden, then a key bound to another org as the row says (404 unless told).
 */
function expectedFor(name: string, row: GuardedRow, caller: Caller): Outcome | "allowed" {
  if (row.allowed.includes(caller)) return "allowed";
  if (caller === "anonymous") return UNAUTHENTICATED;
  const key = isKeyCaller(caller);
  if (row.auth === "session") {
    if (key) return UNAUTHENTICATED;
    if (caller === NO_CSRF) return CSRF_FAILED;
    if (caller === OUTSIDER) return NOT_FOUND;
    return FORBIDDEN;
  }
  if (!key || caller === "revoked org key") return UNAUTHENTICATED;
  if (!row.scope || !scopesOf(caller, row).includes(row.scope)) return FORBIDDEN;
  if (caller === "other org's key, right scope") return row.otherOrgKey ?? NOT_FOUND;
  throw new Error(`no rule for ${caller} on ${name}: allow it in the table or say how it is refused`);
}

function isKeyCaller(caller: Caller): caller is KeyCaller {
  return (KEY_CALLERS as readonly string[]).includes(caller);
}

/** The org scope a route takes, if an org key can carry it. */
function orgScopeOf(row: GuardedRow): KeyScope | null {
  return row.scope && ORG_SCOPES.includes(row.scope) ? row.scope : null;
}

function scopesOf(caller: KeyCaller, row: GuardedRow): readonly KeyScope[] {
  const right = orgScopeOf(row);
  switch (caller) {
    case "org key, wrong scope":
      return right ? ORG_SCOPES.filter((scope) => scope !== right) : ORG_SCOPES;
    case "revoked org key":
      return ORG_SCOPES;
    case "other org's key, right scope":
    case "org key, right scope":
      return right ? [right] : ORG_SCOPES;
    default:
      return PLATFORM_SCOPES[caller];
  }
}

interface Case {
  label: string;
  caller: Caller;
  expected: Outcome | "allowed";
  victim: "target" | "other";
  ids?: (fx: Fixture) => Partial<Ids>;
}

function casesOf(name: string, row: GuardedRow): Case[] {
  const write = !name.startsWith("GET ");
  const callers: Caller[] = [
    "anonymous",
    OUTSIDER,
    ...ROLES,
    ...(row.auth === "session" && write ? ([NO_CSRF] as Caller[]) : []),
    "org key, wrong scope",
    ...(row.auth === "key" ? (["revoked org key"] as Caller[]) : []),
    "other org's key, right scope",
    "platform key without admin",
    ...(row.auth === "key" && orgScopeOf(row) ? (["org key, right scope"] as Caller[]) : []),
    "platform admin key",
  ];
  const cases: Case[] = callers.map((caller) => ({
    label: caller,
    caller,
    expected: expectedFor(name, row, caller),
    victim: "target",
  }));
  if (row.auth === "session" && name.includes("{org}")) {
    cases.push({
      label: "owner of this org, with the other org's ids",
      caller: "owner",
      expected: NOT_FOUND,
      victim: "other",
      ids: (fx) => fx.other.ids,
    });
  }
  for (const foreign of row.foreign ?? []) {
    cases.push({ ...foreign, expected: foreign.outcome });
  }
  return cases;
}

const guardedRows = Object.entries(table).flatMap(([name, row]) =>
  row.auth === "public" ? [] : [{ name, row, cases: casesOf(name, row) }],
);
const PLANNED =
  guardedRows.reduce((sum, { cases }) => sum + cases.length, 0) +
  Object.values(table).reduce((sum, row) => sum + (row.auth === "public" ? row.cases : 0), 0);
/** The matrix must not shrink unnoticed: 41 routes today, about ten callers each. */
const FLOOR = 380;

const PASSWORD = "correct horse battery"; // what test/support/app.ts signs people up with

// ---------------------------------------------------------------------------------------------
// Cross-checks of the table against the code and the documentation

describe("the authorization table", () => {
  it("grants each organization route exactly the roles of its permission in src/domain/access.ts", () => {
    for (const { name, row } of guardedRows) {
      if (row.auth !== "session") continue;
      if (!name.includes("{org}")) {
        expect(row.permission, name).toBeUndefined();
        expect([...row.allowed].sort(), name).toEqual([...SIGNED_IN].sort());
        continue;
      }
      expect(row.permission, `${name} names no permission`).toBeDefined();
      const roles = permissions[row.permission as Permission];
      expect([...row.allowed].sort(), name).toEqual([...roles].sort());
    }
  });

  it("agrees with the routes table of docs/api.md on who may call each route", () => {
    const readme = readmeRoutes();
    for (const [name, row] of Object.entries(table)) {
      const who = readme.get(name);
      expect(who, `${name} is missing from the routes table of docs/api.md`).toBeDefined();
      const documented = allowedByReadme(who ?? "");
      const inTable = row.auth === "public" ? "public" : [...row.allowed].sort();
      expect(documented === "public" ? documented : [...documented].sort(), name).toEqual(inTable);
    }
  });
});

/** The routes table of docs/api.md: route name (as in the OpenAPI document) → its "who" column. */
function readmeRoutes(): Map<string, string> {
  const text = readFileSync(new URL("../../docs/api.md", import.meta.url), "utf8");
  const start = text.indexOf("\n## Routes\n");
  const section = text.slice(start, text.indexOf("\n## ", start + 1));
  const routes = new Map<string, string>();
  for (const line of section.split("\n")) {
    if (!line.startsWith("| `")) continue;
    const [, cell = "", who = ""] = line.split("|").map((part) => part.trim());
    let methods: string[] = [];
    for (const [, spec = ""] of cell.matchAll(/`([^`]+)`/g)) {
      const words = spec.split(" ");
      // "GET/POST /v1/…", or a path alone that takes the methods of the one before it.
      if (/^[A-Z]+(\/[A-Z]+)*$/.test(words[0] ?? "")) methods = (words.shift() ?? "").split("/");
      const path = (words[0] ?? "")
        .replace(/^…/, "/v1/orgs/:org")
        .replace(/\?.*$/, "")
        .replace(/:(\w+)/g, "{$1}");
      const paths = path.endsWith("[.csv]") ? [path.slice(0, -6), `${path.slice(0, -6)}.csv`] : [path];
      for (const method of methods) for (const one of paths) routes.set(`${method} ${one}`, who);
    }
  }
  return routes;
}

function allowedByReadme(who: string): readonly Caller[] | "public" {
  if (who === "anyone" || who === "Stripe (signed)") return "public";
  if (who === "signed-in user") return SIGNED_IN;
  if (who === "any member") return ANY_MEMBER;
  const key = /^(platform )?key with `([a-z:]+)`$/.exec(who);
  if (key) {
    const scope = key[2] as KeyScope;
    const platform = (Object.keys(PLATFORM_SCOPES) as (keyof typeof PLATFORM_SCOPES)[]).filter((caller) =>
      (PLATFORM_SCOPES[caller] as readonly KeyScope[]).includes(scope),
    );
    return key[1] ? platform : ["org key, right scope", ...platform];
  }
  const roles = who.split(", ").map((role) => role.replace(" ", "_"));
  for (const role of roles) expect(ROLES, `unknown role "${role}" in docs/api.md`).toContain(role);
  return roles as Caller[];
}

// ---------------------------------------------------------------------------------------------
// The matrix, on each engine

interface OrgFx {
  id: string;
  name: string;
  billingEmail: string;
  owner: Browser;
  /** Keys by their sorted scopes, and a live key refused callers try to revoke. */
  keys: Record<string, { id: string; key: string }> & { sentinel: { id: string; key: string } };
  /** target: a credit Checkout Session not paid yet; other: one paid and granted. */
  session: string;
  entryId: string;
  emailId: string;
  /** Strings only this org's readers may see. */
  markers: string[];
  ids: Ids;
}

interface Fixture {
  target: OrgFx;
  other: OrgFx;
  people: Record<RoleCaller, Browser> & { [OUTSIDER]: Browser };
  /** Someone with an account, whom allowed callers add as a member. */
  spare: Browser;
  platform: Record<keyof typeof PLATFORM_SCOPES, string>;
  revokedKey: string;
  newTargetKey: () => Promise<{ id: string; key: string }>;
}

interface Tools {
  ctx: TestContext;
  fx: Fixture;
  expectNothingOf: (org: OrgFx, response: LightMyRequestResponse, request: string, label: string) => void;
  unchanged: <T>(org: OrgFx, label: string, act: () => Promise<T>) => Promise<T>;
}

describeEachEngine("authorization matrix", (ctx) => {
  let fx: Fixture;
  let tried = 0;
  let seq = 0;

  beforeAll(async () => {
    fx = await buildFixture(ctx);
  }, 60_000);

  /** The org's state as its owner reads it; whatever a refused caller sends must leave it be. */
  async function snapshot(org: OrgFx) {
    const read = async (path: string) => {
      const response = await org.owner.request("GET", `/v1/orgs/${org.id}${path}`);
      return { status: response.statusCode, body: response.json() };
    };
    const [about, members, keys, subscription, credits, ledger, pricing, emails, usage, preferences] =
      await Promise.all([
        read(""),
        read("/members"),
        read("/api-keys"),
        read("/subscription"),
        read("/credits"),
        read("/credits/transactions?limit=500"),
        read("/credits/pricing"),
        read("/emails?limit=200"),
        read("/usage"),
        read("/email-preferences"),
      ]);
    return {
      about,
      members,
      keys,
      subscription,
      credits,
      ledger,
      pricing,
      preferences,
      // The dispatcher moves emails along (pending, sent) on its own: what was queued is compared.
      emails: emails.body.items?.map((email: { id: string; kind: string; recipients: string[] }) => ({
        id: email.id,
        kind: email.kind,
        recipients: email.recipients,
      })),
      // Forecasts move with the clock; what was used does not.
      used: Object.entries(usage.body.metrics ?? {}).map(([metric, figures]) => [
        metric,
        (figures as { used: number }).used,
      ]),
    };
  }

  async function unchanged<T>(org: OrgFx, label: string, act: () => Promise<T>): Promise<T> {
    const before = await snapshot(org);
    const result = await act();
    await ctx.stripeEmulator.idle();
    expect(await snapshot(org), `${label} changed the state of ${org.name}`).toEqual(before);
    return result;
  }

  function expectNothingOf(org: OrgFx, response: LightMyRequestResponse, request: string, label: string) {
    // What the caller sent itself (an org id in the path, say) may come back in the message.
    for (const marker of [org.id, ...org.markers]) {
      if (request.includes(marker)) continue;
      expect(response.body.includes(marker), `${label} revealed ${marker}: ${response.body}`).toBe(false);
    }
  }

  const tools = (): Tools => ({ ctx, fx, expectNothingOf, unchanged });

  function keyOf(caller: KeyCaller, row: GuardedRow): string {
    const scopes = [...scopesOf(caller, row)].sort().join(" ");
    if (caller === "platform key without admin" || caller === "platform admin key")
      return fx.platform[caller];
    if (caller === "revoked org key") return fx.revokedKey;
    const org = caller === "other org's key, right scope" ? fx.other : fx.target;
    const found = org.keys[scopes];
    if (!found) throw new Error(`no key of ${org.name} with scopes ${scopes}`);
    return found.key;
  }

  /** The console session of a signed-in caller; none for anonymous callers and keys. */
  function sessionOf(caller: Caller): Browser | undefined {
    if (caller === OUTSIDER) return fx.people[OUTSIDER];
    return (ROLES as readonly Caller[]).includes(caller) ? fx.people[caller as RoleCaller] : undefined;
  }

  /** Puts a fixture session a route ended back, under the same cookie and CSRF token. */
  async function reopen(browser: Browser): Promise<void> {
    const token = new RegExp(`(?:^|; )${SESSION_COOKIE}=([^;]+)`).exec(browser.cookie)?.[1];
    if (!token) throw new Error(`no session cookie in ${browser.cookie}`);
    await insertSession(ctx.db.kysely, {
      id: sha256Hex(token),
      userId: browser.user.id,
      csrfToken: browser.csrfToken,
      expiresAt: new Date(ctx.clock.now().getTime() + 86_400_000),
    });
  }

  async function freshSession(browser: Browser): Promise<Browser> {
    const session = await startSession({ db: ctx.db.kysely, userId: browser.user.id, now: ctx.clock.now() });
    return new Browser(ctx.app, browser.user, `${SESSION_COOKIE}=${session.token}`, session.csrfToken);
  }

  async function send(
    name: string,
    row: GuardedRow,
    caller: Caller,
    ids: Ids,
    options: { allowed: boolean; browser?: Browser },
  ): Promise<{ response: LightMyRequestResponse; request: string }> {
    const [method = "GET", path = ""] = name.split(" ");
    const browser = options.browser ?? sessionOf(caller);
    seq += 1;
    const call =
      row.call?.(ids, {
        allowed: options.allowed,
        email: (browser ?? fx.people[OUTSIDER]).user.email,
        fx,
        seq,
      }) ?? {};
    const url =
      path.replace("{org}", ids.org).replace("{key}", ids.key) + (call.query ? `?${call.query}` : "");
    const headers: Record<string, string> = {};
    if (browser) {
      // As the console sends them: the session cookie, and on writes its CSRF token.
      headers.cookie = browser.cookie;
      if (method !== "GET") headers["x-csrf-token"] = browser.csrfToken;
    } else if (caller === NO_CSRF) {
      headers.cookie = fx.people.owner.cookie;
    } else if (isKeyCaller(caller)) {
      headers.authorization = `Bearer ${keyOf(caller, row)}`;
    }
    const response = await ctx.app.inject({
      method: method as InjectOptions["method"],
      url,
      headers,
      ...(call.body === undefined ? {} : { payload: call.body as object }),
    });
    return { response, request: `${url} ${JSON.stringify(call.body ?? null)}` };
  }

  function expectRefused(response: LightMyRequestResponse, expected: Outcome, label: string) {
    if (expected === EVENTS_REFUSED) {
      expect(response.statusCode, `${label}: ${response.body}`).toBe(200);
      expect(response.json(), label).toEqual({
        accepted: 0,
        duplicates: 0,
        rejected: [{ index: 0, code: "unknown_org", message: expect.any(String) }],
      });
      return;
    }
    if (expected === OWN_DATA_ONLY)
      throw new Error(`${label}: own-data cases are checked by expectOwnDataOnly`);
    expect(response.statusCode, `${label}: ${response.body}`).toBe(expected.status);
    const body = response.json();
    // The error and nothing else: no field of the resource rides along.
    expect(Object.keys(body), label).toEqual(["error"]);
    expect(body.error.code, label).toBe(expected.code);
  }

  for (const { name, row, cases } of guardedRows) {
    const allowed = cases.filter((one) => one.expected === "allowed");
    const refused = cases.length - allowed.length;
    const who = allowed.length ? allowed.map((one) => one.label).join(", ") : "no one";
    const others = `${refused} other callers are refused, learn nothing and change nothing`;
    it(`${name}: ${who} get through; ${others}`, async () => {
      // A read is checked for effects once around all its refused callers, a write around each.
      const reads = name.startsWith("GET ");
      const whole = async (act: () => Promise<void>) => {
        if (!reads) return act();
        await unchanged(fx.target, `${name} by refused callers`, () =>
          unchanged(fx.other, `${name} by refused callers`, act),
        );
      };
      await whole(async () => {
        for (const one of cases) {
          if (one.expected === "allowed") continue;
          const victim = one.victim === "target" ? fx.target : fx.other;
          const ids = { ...fx.target.ids, ...one.ids?.(fx) };
          const label = `${name} by ${one.label}`;
          const act = () => send(name, row, one.caller, ids, { allowed: false });
          const { response, request } = reads ? await act() : await unchanged(victim, label, act);
          if (one.expected === OWN_DATA_ONLY) await expectOwnDataOnly(name, row, response, label);
          else expectRefused(response, one.expected, label);
          expectNothingOf(victim, response, request, label);
          if (one.expected === NOT_FOUND || one.expected === EVENTS_REFUSED) {
            await expectAsIfNowhere(name, row, one.caller, ids, response, label);
          }
          tried += 1;
        }
      });
      for (const one of allowed) {
        const label = `${name} by ${one.label}`;
        const ids = { ...fx.target.ids, ...(await row.allowedIds?.(fx)) };
        const own = sessionOf(one.caller);
        const browser = row.freshSession && own ? await freshSession(own) : undefined;
        const { response } = await send(name, row, one.caller, ids, {
          allowed: true,
          ...(browser && { browser }),
        });
        expect([401, 403, 404], `${label} was refused: ${response.body}`).not.toContain(response.statusCode);
        expect(response.statusCode, `${label}: ${response.body}`).toBeLessThan(500);
        if (name.startsWith("GET ")) expect(response.statusCode, `${label}: ${response.body}`).toBe(200);
        // Someone of another org allowed on a route of their own still learns nothing of this one.
        if (one.caller === OUTSIDER) expectNothingOf(fx.target, response, "", label);
        row.checkAllowed?.(one.caller, response, fx);
        if (browser) expect((await browser.request("GET", "/v1/me")).statusCode, label).toBe(401);
        if (row.endsEverySession && own) {
          expect(
            (await own.request("GET", "/v1/me")).statusCode,
            `${label} ended the fixture's session`,
          ).toBe(401);
          await reopen(own);
        }
        await ctx.stripeEmulator.idle();
        tried += 1;
      }
    });
  }

  /**
   * Another org's ids are refused in the very words used for ids that exist nowhere, so a refusal
   * tells nothing about what exists. The ids of the org the caller is not part of are swapped for
   * made-up ones, and the answers compared with each id in its place.
   */
  async function expectAsIfNowhere(
    name: string,
    row: GuardedRow,
    caller: Caller,
    ids: Ids,
    response: LightMyRequestResponse,
    label: string,
  ) {
    const home = caller === OUTSIDER || caller === "other org's key, right scope" ? fx.other : fx.target;
    const foreign = home === fx.target ? fx.other : fx.target;
    const theirs = new Set([
      foreign.id,
      foreign.session,
      ...Object.values(foreign.keys).map((key) => key.id),
    ]);
    const swaps: [string, string][] = [];
    const nowhere = (id: string, prefix: string) => {
      if (!theirs.has(id)) return id;
      const made = `${prefix}${randomBytes(10).toString("hex")}`;
      swaps.push([id, made]);
      return made;
    };
    const ghost: Ids = {
      org: nowhere(ids.org, "org_"),
      key: nowhere(ids.key, "key_"),
      session: nowhere(ids.session, "cs_test_"),
      cursor: ids.cursor,
    };
    expect(swaps.length, `${label}: names none of the other org's ids`).toBeGreaterThan(0);
    const { response: made } = await send(name, row, caller, ghost, { allowed: false });
    // Request ids differ between any two answers; everything else must not.
    const words = (answer: LightMyRequestResponse) => {
      const body = answer.json();
      if (body.error) body.error.request_id = "req";
      return { status: answer.statusCode, body: JSON.stringify(body) };
    };
    const real = words(response);
    for (const [id, fake] of swaps) real.body = real.body.replaceAll(id, fake);
    expect(words(made), `${label} is told apart from ids that exist nowhere`).toEqual(real);
  }

  /** A foreign cursor pages the caller's own org: every item is one of its own. */
  async function expectOwnDataOnly(
    name: string,
    row: GuardedRow,
    response: LightMyRequestResponse,
    label: string,
  ) {
    expect(response.statusCode, `${label}: ${response.body}`).toBe(200);
    const { response: all } = await send(name, row, "owner", fx.target.ids, { allowed: true });
    const own = new Set(all.json().items.map((item: { id: string }) => item.id));
    const items: { id: string }[] = response.json().items;
    expect(items.length, `${label}: the fixture leaves older items of this org to page to`).toBeGreaterThan(
      0,
    );
    for (const item of items) expect(own.has(item.id), `${label} answered ${item.id}`).toBe(true);
  }

  for (const [name, row] of Object.entries(table)) {
    if (row.auth !== "public") continue;
    it(`${name} is public: ${row.sanity}`, async () => {
      await row.run(tools());
      tried += row.cases;
    });
  }

  it("every route of the OpenAPI document has a row in the table, with its documented security", async () => {
    const doc = (await ctx.app.inject({ method: "GET", url: "/openapi.json" })).json();
    type Security = { session?: unknown; apiKey?: unknown }[] | undefined;
    const documented: { name: string; security: Security }[] = [];
    for (const [path, operations] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      for (const [method, operation] of Object.entries(operations)) {
        const { security } = operation as { security?: Security };
        documented.push({ name: `${method.toUpperCase()} ${path}`, security });
      }
    }
    const missing = documented.map(({ name }) => name).filter((name) => !(name in table));
    expect(missing, `routes without a row in the authorization table: ${missing.join(", ")}`).toEqual([]);
    const names = new Set(documented.map(({ name }) => name));
    const stale = Object.keys(table).filter((name) => !names.has(name));
    expect(stale, `rows for routes the OpenAPI document no longer has: ${stale.join(", ")}`).toEqual([]);
    for (const { name, security } of documented) {
      const auth = security?.[0]?.session ? "session" : security?.[0]?.apiKey ? "key" : "public";
      expect(table[name]?.auth, `${name} documents ${auth} security`).toBe(auth);
    }
  });

  const routes = Object.keys(table).length;
  it(`tried ${PLANNED} route × caller cases over ${routes} routes (at least ${FLOOR})`, () => {
    expect(PLANNED).toBeGreaterThanOrEqual(FLOOR);
    expect(tried, "every case of the matrix ran").toBe(PLANNED);
  });
});

/**
 * Two organizations with something in every part of their state: the target, with one member
 * of each role, a subscription, credits, usage, an email and a pending credit checkout; and the
 * other, whose owner is the outsider, with a grant and an email older than the target's and a
 * paid credit purchase newer than them, so a page after the other's newest item holds items of
 * both orgs unless it keeps to one.
 */
async function buildFixture(ctx: TestContext): Promise<Fixture> {
  const team = await makeTeam(ctx.app);
  const tag = randomBytes(4).toString("hex");
  const adminKey = await createApiKey({
    db: ctx.db.kysely,
    orgId: null,
    name: "ops",
    scopes: ["admin"],
    createdBy: null,
    now: new Date(),
  });
  const serviceKey = await createApiKey({
    db: ctx.db.kysely,
    orgId: null,
    name: "ingest",
    scopes: ORG_SCOPES,
    createdBy: null,
    now: new Date(),
  });

  const ok = async (what: string, pending: Promise<LightMyRequestResponse>, status = 200) => {
    const response = await pending;
    if (response.statusCode !== status) throw new Error(`${what}: ${response.statusCode} ${response.body}`);
    return response.json();
  };

  async function describeOrg(owner: Browser, id: string, label: string) {
    const name = `${label} ${tag}`;
    const billingEmail = uniqueEmail(`${label.toLowerCase()}.billing`);
    await ok(
      `naming ${label}`,
      owner.request("PATCH", `/v1/orgs/${id}`, { name, billing_email: billingEmail, country: "US" }),
    );
    const newKey = async (scopes: KeyScope[]) => {
      const created = await ok(
        `a key of ${label}`,
        owner.request("POST", `/v1/orgs/${id}/api-keys`, { name: "svc", scopes }),
        201,
      );
      return { id: created.id as string, key: created.key as string };
    };
    const keys = {
      "entitlements:read": await newKey(["entitlements:read"]),
      "usage:write": await newKey(["usage:write"]),
      "entitlements:read usage:write": await newKey(ORG_SCOPES),
      sentinel: await newKey(["usage:write"]),
    };
    return { id, name, billingEmail, owner, keys, newKey };
  }

  const grant = (orgId: string, note: string) =>
    ok(
      "a grant",
      ctx.app.inject({
        method: "POST",
        url: `/v1/admin/orgs/${orgId}/credits/grants`,
        headers: { authorization: `Bearer ${adminKey.key}` },
        payload: { amount: 40, note },
      }),
      201,
    );
  const askSales = (owner: Browser, orgId: string, message: string) =>
    ok("contact sales", owner.request("POST", `/v1/orgs/${orgId}/contact-sales`, { message }), 201);

  const target = await describeOrg(team.owner, team.org.id, "Target");
  const other = await describeOrg(team.outsider, team.otherOrg.id, "Rival");
  // The other org's oldest ledger entry and email, which a cursor ignoring the org would reach.
  await grant(other.id, `rival grant ${tag}`);
  await askSales(team.outsider, other.id, `rival request ${tag}`);

  await subscribe(ctx, team.owner, target.id, { plan: "solo", interval: "month" });
  await grant(target.id, `welcome ${tag}`);
  await ok(
    "usage",
    ctx.app.inject({
      method: "POST",
      url: "/v1/usage/events",
      headers: { authorization: `Bearer ${target.keys["usage:write"].key}` },
      payload: {
        events: [
          {
            id: "seed-1",
            org_id: target.id,
            app_id: "ios",
            metric: "mau",
            device_id: "seed-device",
            timestamp: new Date().toISOString(),
          },
        ],
      },
    }),
  );
  await askSales(team.owner, target.id, `custom plan ${tag}`);
  const pending = await ok(
    "a credit checkout",
    team.owner.request("POST", `/v1/orgs/${target.id}/checkout/credits`, { amount: 50 }),
  );

  const revoked = await target.newKey(ORG_SCOPES);
  await ok(
    "a check with the key about to be revoked",
    ctx.app.inject({
      method: "POST",
      url: "/v1/check",
      headers: { authorization: `Bearer ${revoked.key}` },
      payload: { org_id: target.id, action: "serve_update" },
    }),
  );
  await ok("revoking a key", team.owner.request("DELETE", `/v1/orgs/${target.id}/api-keys/${revoked.id}`));

  // The other org's newest entry and email: a purchase, paid, and its receipt.
  const bought = await ok(
    "the other org's credit checkout",
    team.outsider.request("POST", `/v1/orgs/${other.id}/checkout/credits`, { amount: 100 }),
  );
  const paid = await payCheckout(ctx, bought.session_id);
  if (paid.status !== 200) {
    throw new Error(`paying the other org's checkout: ${paid.status} ${await paid.text()}`);
  }

  const first = async (browser: Browser, path: string) => {
    const items = (await ok(path, browser.request("GET", path))).items as { id: string }[];
    if (!items[0]) throw new Error(`${path} is empty`);
    return items[0].id;
  };
  const people = {
    owner: team.owner,
    billing_admin: team.billing_admin,
    admin: team.admin,
    member: team.member,
    [OUTSIDER]: team.outsider,
  };
  const orgFx = (
    org: typeof target,
    facts: { session: string; entryId: string; emailId: string; markers: string[] },
  ): OrgFx => ({
    ...org,
    ...facts,
    markers: [
      org.name,
      org.billingEmail,
      ...Object.values(org.keys).map((key) => key.id),
      facts.session,
      facts.entryId,
      facts.emailId,
      ...facts.markers,
    ],
    ids: { org: org.id, key: org.keys.sentinel.id, session: facts.session, cursor: null },
  });
  const targetFx = orgFx(target, {
    session: pending.session_id,
    entryId: await first(team.owner, `/v1/orgs/${target.id}/credits/transactions`),
    emailId: await first(team.owner, `/v1/orgs/${target.id}/emails`),
    markers: [...ROLES.map((role) => people[role].user.email), `welcome ${tag}`, `custom plan ${tag}`],
  });
  const otherFx = orgFx(other, {
    session: bought.session_id,
    entryId: await first(team.outsider, `/v1/orgs/${other.id}/credits/transactions`),
    emailId: await first(team.outsider, `/v1/orgs/${other.id}/emails`),
    markers: [team.outsider.user.email, `rival grant ${tag}`, `rival request ${tag}`],
  });
  return {
    target: targetFx,
    other: otherFx,
    people,
    spare: await signUp(ctx.app, { name: "Spare" }),
    platform: { "platform key without admin": serviceKey.key, "platform admin key": adminKey.key },
    revokedKey: revoked.key,
    newTargetKey: () => target.newKey(["usage:write"]),
  };
}
