import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { type StripeEmulator, startStripeEmulator } from "@meterline/stripe-emulator";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import pino, { type LevelWithSilent } from "pino";
import { afterAll, beforeAll, describe } from "vitest";
import type { Database } from "../../src/config.js";
import { type Config, loadConfig } from "../../src/config.js";
import type { Db } from "../../src/db/client.js";
import type { Clock } from "../../src/domain/clock.js";
import { freePort } from "../../src/freePort.js";
import { createApp } from "../../src/http/app.js";
import { createLogger } from "../../src/logger.js";
import { createApiKey } from "../../src/services/accounts/apiKeys.js";
import { StripeGateway } from "../../src/stripe/gateway.js";
import type { EmailDispatcher } from "../../src/workers/emailDispatcher.js";
import type { EntitlementCache } from "../../src/workers/entitlementCache.js";
import type { OrgJobRunner } from "../../src/workers/orgJobRunner.js";
import { startWorkers } from "../../src/workers/startWorkers.js";
import { availableEngines, createTestDatabase, type Engine } from "./databases.js";

export interface TestContext {
  engine: Engine;
  /** Listening on `url`, so the Stripe emulator can deliver webhooks; tests mostly `inject`. */
  app: FastifyInstance;
  url: string;
  db: Db;
  /** Where `db` lives, for a second process-like connection to the same database. */
  database: Database;
  /** The app's configuration, the suite's `env` applied. */
  config: Config;
  /** The app's clock: the system's, moved by `offsetMs` (tests that move it put it back). */
  clock: Clock & { offsetMs: number };
  /** A local Stripe emulator the app talks to through the SDK, delivering to the app's webhook. */
  stripeEmulator: StripeEmulator;
  stripe: StripeGateway;
  /** The emulator's secret key, for another process to reach the same Stripe. */
  stripeSecretKey: string;
  webhookSecret: string;
  entitlements: EntitlementCache;
  /** Charges overage to credits in the background, as the server does. */
  overage: OrgJobRunner;
  /** Queues quota emails in the background, as the server does. */
  alerts: OrgJobRunner;
  /** Sends the outbox: to the local mailbox, or by SMTP when the suite's env sets SMTP_URL. */
  emails: EmailDispatcher;
  /** What the app logged at the suite's `logLevel` or above, parsed; nothing unless it sets one. */
  logs: Record<string, unknown>[];
}

const engines = await availableEngines();

/**
 * Runs a suite once per engine against a fresh app and database. Tests share the database and
 * keep out of each other's way by making their own users and organizations.
 */
export function describeEachEngine(
  name: string,
  suite: (ctx: TestContext) => void,
  options: { env?: Record<string, string>; logLevel?: LevelWithSilent } = {},
): void {
  for (const engine of engines) {
    describe(`${name} [${engine}]`, () => {
      const clock = {
        offsetMs: 0,
        now: () => new Date(Date.now() + clock.offsetMs),
      };
      const ctx = { engine, clock, logs: [] as Record<string, unknown>[] } as TestContext;
      let drop: () => Promise<void> = async () => {};
      let stopListening: () => Promise<void> = async () => {};
      beforeAll(async () => {
        const database = await createTestDatabase(engine);
        drop = database.drop;
        ctx.db = database.db;
        ctx.database = database.config;
        const port = await freePort();
        ctx.url = `http://127.0.0.1:${port}`;
        const apiKey = `sk_test_${randomBytes(8).toString("hex")}`;
        ctx.webhookSecret = `whsec_${randomBytes(16).toString("hex")}`;
        ctx.stripeEmulator = await startStripeEmulator({
          port: 0,
          apiKey,
          webhook: { url: `${ctx.url}/v1/webhooks/stripe`, secret: ctx.webhookSecret },
          clock,
          retry: { attempts: 4, initialDelayMs: 50 },
          logger: pino({ level: "silent" }),
        });
        ctx.stripe = new StripeGateway({ secretKey: apiKey, apiUrl: ctx.stripeEmulator.url });
        ctx.stripeSecretKey = apiKey;
        const config = {
          ...loadConfig({ NODE_ENV: "test", LOG_LEVEL: "silent", PUBLIC_URL: ctx.url, ...options.env }),
          database: database.config,
        };
        ctx.config = config;
        const workers = await startWorkers({
          db: database.db,
          config,
          clock,
          creditExpiry: false,
          planAdvice: false,
        });
        stopListening = () => workers.stop();
        ctx.entitlements = workers.entitlements;
        ctx.overage = workers.overage;
        ctx.alerts = workers.alerts;
        ctx.emails = workers.emails;
        const sink = new Writable({
          write(chunk, _encoding, done) {
            for (const line of String(chunk).split("\n").filter(Boolean)) ctx.logs.push(JSON.parse(line));
            done();
          },
        });
        ctx.app = await createApp({
          config,
          db: database.db,
          clock,
          logger: createLogger({ logLevel: options.logLevel ?? "silent" }, sink),
          stripe: { gateway: ctx.stripe, webhookSecrets: [ctx.webhookSecret] },
          entitlements: workers.entitlements,
        });
        await ctx.app.listen({ port, host: "127.0.0.1" });
      });
      afterAll(async () => {
        await ctx.stripeEmulator?.close();
        await ctx.app?.close();
        await stopListening();
        await drop();
      });
      suite(ctx);
    });
  }
}

let counter = 0;
export function uniqueEmail(label = "user"): string {
  counter += 1;
  return `${label}.${Date.now()}.${counter}.${Math.random().toString(36).slice(2, 8)}@example.com`;
}

type Method = "GET" | "POST" | "PATCH" | "DELETE";

/** A signed-in console user: sends the session cookie and, on writes, the CSRF header. */
export class Browser {
  constructor(
    readonly app: FastifyInstance,
    readonly user: { id: string; email: string; name: string },
    readonly cookie: string,
    readonly csrfToken: string,
  ) {}

  request(method: Method, url: string, body?: unknown, headers: Record<string, string> = {}) {
    return this.app.inject({
      method,
      url,
      headers: {
        cookie: this.cookie,
        ...(method === "GET" ? {} : { "x-csrf-token": this.csrfToken }),
        ...headers,
      },
      ...(body === undefined ? {} : { payload: body as object }),
    });
  }
}

export function sessionCookieOf(response: LightMyRequestResponse): string {
  return response.cookies.map((cookie) => `${cookie.name}=${cookie.value}`).join("; ");
}

export async function signUp(
  app: FastifyInstance,
  fields: { email?: string; name?: string } = {},
): Promise<Browser> {
  const email = fields.email ?? uniqueEmail();
  const response = await app.inject({
    method: "POST",
    url: "/v1/auth/signup",
    // Each simulated person signs up from an address of their own, as people do.
    remoteAddress: `10.${counter % 250}.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`,
    payload: { email, password: "correct horse battery", name: fields.name ?? "Test User" },
  });
  if (response.statusCode !== 201) throw new Error(`signup failed: ${response.statusCode} ${response.body}`);
  const body = response.json();
  return new Browser(app, body.user, sessionCookieOf(response), body.csrf_token);
}

export async function makeOrg(
  owner: Browser,
  fields: { name?: string; billing_email?: string; country?: string } = {},
): Promise<{ id: string; name: string }> {
  const response = await owner.request("POST", "/v1/orgs", { name: "Acme", ...fields });
  if (response.statusCode !== 201)
    throw new Error(`org creation failed: ${response.statusCode} ${response.body}`);
  return response.json();
}

/** An org with one user of each role, plus an outsider who belongs to another org. */
export async function makeTeam(app: FastifyInstance) {
  const owner = await signUp(app, { name: "Owner" });
  const org = await makeOrg(owner);
  const members = {} as Record<"billing_admin" | "admin" | "member", Browser>;
  for (const role of ["billing_admin", "admin", "member"] as const) {
    const person = await signUp(app, { name: role });
    const added = await owner.request("POST", `/v1/orgs/${org.id}/members`, {
      email: person.user.email,
      role,
    });
    if (added.statusCode !== 200) throw new Error(`adding ${role} failed: ${added.body}`);
    members[role] = person;
  }
  const outsider = await signUp(app, { name: "Outsider" });
  const otherOrg = await makeOrg(outsider, { name: "Other Org" });
  return { org, owner, ...members, outsider, otherOrg };
}

export function expectError(response: LightMyRequestResponse, status: number, code: string) {
  const body = response.json();
  if (response.statusCode !== status || body?.error?.code !== code || !body.error.request_id) {
    throw new Error(`expected ${status} ${code}, got ${response.statusCode} ${response.body}`);
  }
  return body.error as { code: string; message: string; request_id: string };
}

/** A key bound to the organization with `usage:write`: what its host product reports usage with. */
export async function usageKey(db: Db, orgId: string): Promise<string> {
  const { key } = await createApiKey({
    db: db.kysely,
    orgId,
    name: "ingest",
    scopes: ["usage:write"],
    createdBy: null,
    now: new Date(),
  });
  return key;
}

let reports = 0;

/**
 * Reports `count` devices never seen before, first seen at `at`, through POST /v1/usage/events
 * in batches of 1,000, as a host product does; fails unless every event is accepted.
 */
export async function reportNewDevices(
  app: FastifyInstance,
  { key, orgId, count, at }: { key: string; orgId: string; count: number; at: Date },
): Promise<void> {
  const report = ++reports;
  for (let start = 0; start < count; start += 1000) {
    const events = Array.from({ length: Math.min(1000, count - start) }, (_, n) => ({
      id: `devices-${report}-${start + n}`,
      org_id: orgId,
      app_id: "app",
      metric: "mau",
      device_id: `device-${report}-${start + n}`,
      timestamp: at.toISOString(),
    }));
    const response = await app.inject({
      method: "POST",
      url: "/v1/usage/events",
      headers: { authorization: `Bearer ${key}` },
      payload: { events },
    });
    if (response.json().accepted !== events.length) {
      throw new Error(`${events.length} devices reported, not all accepted: ${response.body}`);
    }
  }
}
