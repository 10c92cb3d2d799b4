/**
 * Benchmarks, printing their figures and the machine they ran on. Run with `npm run bench`.
 * Usage ingestion over HTTP in 1,000-event batches, 4 in flight, on PGlite and (when
 * DATABASE_URL or 127.0.0.1:5432/test answers) PostgreSQL, set against /healthz in the same run.
 */
import { randomBytes } from "node:crypto";
import os from "node:os";
import pg from "pg";
import pino from "pino";
import { type Database, loadConfig } from "../src/config.js";
import { openDatabase } from "../src/db/client.js";
import { migrate } from "../src/db/migrate.js";
import { systemClock } from "../src/domain/clock.js";
import { createApp } from "../src/http/app.js";
import { createApiKey } from "../src/services/apiKeys.js";
import { createOrg } from "../src/services/createOrg.js";
import { EntitlementCache } from "../src/services/entitlementCache.js";
import { signUp } from "../src/services/signUp.js";
import { StripeGateway } from "../src/stripe/gateway.js";

const BATCHES = Number(process.env.BENCH_BATCHES ?? 100);
const IN_FLIGHT = 4;
const adminUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

async function inFlight(
  total: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await task(next++);
    }),
  );
  return (performance.now() - started) / 1000;
}

async function benchEngine(database: Database, label: string) {
  const db = await openDatabase(database);
  await migrate({ db });
  const now = new Date();
  const { user } = await signUp({
    db: db.kysely,
    email: `bench-${Date.now()}@example.com`,
    password: "benchmark-pass",
    name: "Bench",
    now,
  });
  const org = await createOrg({ db: db.kysely, owner: user, name: "Bench", trialDays: 15, now });
  const { key } = await createApiKey({
    db: db.kysely,
    orgId: org.id,
    name: "bench",
    scopes: ["usage:write"],
    createdBy: null,
    now,
  });
  const config = { ...loadConfig({ NODE_ENV: "test", LOG_LEVEL: "silent" }), database };
  // Ingestion never reaches Stripe.
  const stripe = {
    gateway: new StripeGateway({ secretKey: "sk_test_unused", apiUrl: "http://127.0.0.1:9" }),
    webhookSecrets: [],
  };
  const entitlements = new EntitlementCache({ db: db.kysely, catalog: config.catalog, clock: systemClock });
  const app = await createApp({
    config,
    db,
    clock: systemClock,
    logger: pino({ level: "silent" }),
    stripe,
    entitlements,
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const address = app.server.address();
  const base = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  const timestamp = new Date().toISOString();
  const bodies = Array.from({ length: BATCHES }, (_, b) =>
    JSON.stringify({
      events: Array.from({ length: 1000 }, (_, i) =>
        i % 2
          ? {
              id: `b${b}-${i}`,
              org_id: org.id,
              app_id: "app",
              metric: "mau",
              device_id: `d${b}-${i}`,
              timestamp,
            }
          : {
              id: `b${b}-${i}`,
              org_id: org.id,
              app_id: "app",
              metric: "bandwidth",
              value: 1_000_000,
              timestamp,
            },
      ),
    }),
  );
  const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
  const ingest = await inFlight(BATCHES, IN_FLIGHT, async (i) => {
    const reply = await fetch(`${base}/v1/usage/events`, { method: "POST", headers, body: bodies[i] });
    const result = (await reply.json()) as { accepted: number };
    if (result.accepted !== 1000) throw new Error(`batch ${i}: ${JSON.stringify(result)}`);
  });
  const healthRequests = 2000;
  const health = await inFlight(healthRequests, IN_FLIGHT, async () => {
    await (await fetch(`${base}/healthz`)).arrayBuffer();
  });
  console.log(
    `${label.padEnd(10)} ingestion: ${Math.round((BATCHES * 1000) / ingest).toLocaleString("en")} events/s ` +
      `(${BATCHES} batches of 1,000, ${IN_FLIGHT} in flight, ${ingest.toFixed(2)} s) | ` +
      `/healthz: ${Math.round(healthRequests / health).toLocaleString("en")} req/s`,
  );
  await app.close();
  await db.close();
}

console.log(
  `machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`,
);
await benchEngine({ engine: "pglite", dataDir: null }, "pglite");

const name = `meterline_bench_${randomBytes(4).toString("hex")}`;
const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
try {
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  await benchEngine({ engine: "postgres", url: url.toString() }, "postgres");
  await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
} catch (error) {
  console.log(`postgres   skipped: ${(error as Error).message}`);
} finally {
  await admin.end().catch(() => {});
}
