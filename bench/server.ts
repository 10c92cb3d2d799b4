/**
 * The benchmark's server process (forked by serverProcess.ts): Meterline's app composed as
 * src/main.ts composes it (entitlement cache listening for NOTIFY, request log at the configured
 * level), minus the Stripe emulator, which neither ingestion nor the check reaches.
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import type { FastifyInstance } from "fastify";
import pino from "pino";
import { type Config, loadConfig } from "../src/config.js";
import { type Db, openDatabase } from "../src/db/client.js";
import { migrate } from "../src/db/migrate.js";
import type { UsageEventRow } from "../src/db/usageEventRepo.js";
import type { KeyScope } from "../src/domain/access.js";
import { systemClock } from "../src/domain/clock.js";
import { createApp } from "../src/http/app.js";
import { createLogger } from "../src/logger.js";
import { createApiKey } from "../src/services/accounts/apiKeys.js";
import { StripeGateway } from "../src/stripe/gateway.js";
import { startWorkers } from "../src/workers/startWorkers.js";
import { runInFlight } from "./load.js";
import { sampleMemory } from "./memory.js";
import { seedOrgs } from "./seed.js";
import type { CallMessage, ReplyMessage, ServerMethods } from "./serverProtocol.js";
import { buildBatch, toRows } from "./workload.js";

interface Running {
  db: Db;
  app: FastifyInstance;
  stopListening: () => Promise<void>;
}

let running: Running | null = null;
let profiler: Session | null = null;

function current(): Running {
  if (!running) throw new Error("the bench server has not started");
  return running;
}

function cpuSecondsNow(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

async function start({ database, logLevel }: { database: Config["database"]; logLevel: string }) {
  const config: Config = { ...loadConfig({ NODE_ENV: "test", LOG_LEVEL: logLevel }), database };
  const db = await openDatabase(database);
  await migrate({ db });
  // The request log costs what it costs in production (one write per line), minus the reader.
  const logger = createLogger(config, pino.destination({ dest: "/dev/null", sync: true }));
  // Everything a server process runs beside the API: overage charging, quota emails, the mailbox.
  const workers = await startWorkers({ db, config, clock: systemClock, logger, creditExpiry: false });
  const stripe = {
    gateway: new StripeGateway({ secretKey: "sk_test_unused", apiUrl: "http://127.0.0.1:9" }),
    webhookSecrets: [],
  };
  const app = await createApp({
    config,
    db,
    clock: systemClock,
    logger,
    stripe,
    entitlements: workers.entitlements,
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  running = { db, app, stopListening: () => workers.stop() };
  const address = app.server.address();
  if (!address || typeof address === "string") throw new Error("the server has no TCP address");
  return { url: `http://127.0.0.1:${address.port}` };
}

async function seed({ orgs, checkKeys: keys }: { orgs: number; checkKeys: number }) {
  const db = current().db.kysely;
  const now = new Date();
  const { userId, orgIds } = await seedOrgs({ db, orgs });
  const checkKeys: string[] = [];
  const scopes: KeyScope[] = ["entitlements:read"];
  const orgId = orgIds[0] as string;
  for (let i = 0; i < keys; i++) {
    const { key } = await createApiKey({ db, orgId, name: `check ${i}`, scopes, createdBy: userId, now });
    checkKeys.push(key);
  }
  // A platform key: one sender reporting for several organizations in one batch.
  const { key: usageKey } = await createApiKey({
    db,
    orgId: null,
    name: "ingest",
    scopes: ["usage:write"],
    createdBy: null,
    now,
  });
  return { orgIds, usageKey, checkKeys };
}

let rawRows: UsageEventRow[][] = [];

async function prepareRaw({ runId, batches, orgIds }: { runId: string; batches: number; orgIds: string[] }) {
  const now = Date.now();
  rawRows = Array.from({ length: batches }, (_, batch) => toRows(buildBatch({ runId, batch, orgIds, now })));
}

async function rawInsert({ inFlight }: { inFlight: number }) {
  const db = current().db.kysely;
  const rows = rawRows;
  rawRows = [];
  return runInFlight({
    total: rows.length,
    concurrency: inFlight,
    task: async (batch) => {
      await db
        .insertInto("usage_events")
        .values(rows[batch] ?? [])
        .execute();
    },
  });
}

async function memory() {
  const { app } = current();
  const connections = await new Promise<number>((resolve, reject) =>
    app.server.getConnections((error, open) => (error ? reject(error) : resolve(open))),
  );
  // Buffers outside the heap are freed after the collection that finds them dead: collect, let
  // their finalizers run, then sample.
  sampleMemory();
  await new Promise((resolve) => setTimeout(resolve, 100));
  return { ...sampleMemory(), buffers: process.memoryUsage().arrayBuffers, connections };
}

async function profileStart() {
  profiler = new Session();
  profiler.connect();
  await profiler.post("Profiler.enable");
  await profiler.post("Profiler.start");
}

async function profileStop({ file }: { file: string }) {
  if (!profiler) throw new Error("no profile is running");
  const { profile } = await profiler.post("Profiler.stop");
  writeFileSync(file, JSON.stringify(profile));
  profiler.disconnect();
  profiler = null;
}

async function stop() {
  const server = running;
  running = null;
  if (!server) return;
  await server.app.close();
  await server.stopListening();
  await server.db.close();
}

const methods: ServerMethods = {
  start,
  seed,
  prepareRaw,
  rawInsert,
  memory,
  cpuSeconds: async () => cpuSecondsNow(),
  profileStart,
  profileStop,
  stop,
};

function reply(message: ReplyMessage, then?: () => void): void {
  process.send?.(message, undefined, {}, () => then?.());
}

process.on("message", (message: CallMessage) => {
  const method = methods[message.method] as (params: unknown) => Promise<unknown>;
  method(message.params).then(
    (result) => reply({ id: message.id, ok: true, result }, message.method === "stop" ? exit : undefined),
    (error: unknown) =>
      reply({
        id: message.id,
        ok: false,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      }),
  );
});

function exit(): void {
  process.exit(0);
}

// The runner is gone (it crashed or was interrupted): nobody will ask us to stop.
process.on("disconnect", () => process.exit(1));
