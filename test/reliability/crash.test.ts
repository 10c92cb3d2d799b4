import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Db, openDatabase } from "../../src/db/client.js";
import { migrate } from "../../src/db/migrate.js";
import { saveCycleSchedule } from "../../src/db/orgRepo.js";
import { inTransaction } from "../../src/db/transaction.js";
import { createApiKey } from "../../src/services/accounts/apiKeys.js";
import { createOrg } from "../../src/services/accounts/createOrg.js";
import { signUp } from "../../src/services/accounts/signUp.js";
import { availableEngines, createTestDatabase } from "../support/databases.js";
import { PrivateCluster, privateClusterSupport } from "./privateCluster.js";
import { SeededRandom } from "./random.js";
import { ServerProcess } from "./serverProcess.js";
import { type AuditFindings, auditUsage, usageSnapshot } from "./usageAudit.js";
import { EventFactory, type Sender, ServerAddress, UsageLoader } from "./usageLoad.js";

/**
 * Crash safety of usage ingestion: the real server, as a child process, takes a stream of usage
 * batches while it is killed with SIGKILL at random moments and restarted (and, on PostgreSQL,
 * while the database itself is stopped the hard way and started again). Every event the server
 * acknowledged must be stored exactly once, every aggregate must equal what the stored events add
 * up to, and sending everything again must change nothing.
 *
 * Sizes: CRASH_KILLS (default 4; `npm run test:long` runs 25), CRASH_DB_RESTARTS (PostgreSQL,
 * default 2, or one per five kills when more), CRASH_SEED to replay a run's schedule and events.
 */
const KILLS = Number(process.env.CRASH_KILLS ?? 4);
const DB_RESTARTS = Number(process.env.CRASH_DB_RESTARTS ?? Math.max(2, Math.floor(KILLS / 5)));
const SEED = Number(process.env.CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
const WORKERS = 4;
/** Per disruption: the time to restart a server on a busy 2-core machine, and load in between. */
const RUN_TIMEOUT_MS = 120_000 + (KILLS + DB_RESTARTS) * 30_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Target {
  name: string;
  /** Why the database is not restarted here; null when it is. */
  noRestarts: string | null;
  prepare(): Promise<Setup>;
}

interface Setup {
  env: Record<string, string>;
  cluster: PrivateCluster | null;
  /** A connection for the audit: for PGlite only while no server holds its folder. */
  open(): Promise<Db>;
  cleanup(): Promise<void>;
}

const support = privateClusterSupport();
if (!support.ok && process.env.CI === "true")
  throw new Error(`CI=true needs the PostgreSQL restarts of this suite, but ${support.reason}`);

const targets: Target[] = [
  {
    name: "pglite",
    noRestarts: "PGlite runs in the server process and dies with it",
    async prepare() {
      const dir = mkdtempSync(path.join(tmpdir(), "meterline-crash-"));
      const config = { engine: "pglite" as const, dataDir: path.join(dir, "pglite") };
      return {
        env: { DATA_DIR: dir },
        cluster: null,
        open: () => openDatabase(config),
        cleanup: async () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  },
];
if (support.ok) {
  targets.push({
    name: "postgres, private cluster",
    noRestarts: null,
    async prepare() {
      const dir = mkdtempSync(path.join(tmpdir(), "meterline-crash-"));
      const cluster = await PrivateCluster.create(support.owner).catch((error) => {
        rmSync(dir, { recursive: true, force: true });
        throw error;
      });
      const config = { engine: "postgres" as const, url: cluster.url() };
      return {
        env: { DATABASE_URL: cluster.url(), DATA_DIR: dir },
        cluster,
        open: () => openDatabase(config),
        async cleanup() {
          await cluster.destroy();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  });
} else if ((await availableEngines()).includes("postgres")) {
  // Server kills still run on PostgreSQL, on a throwaway database of the shared server, which
  // must never be stopped: other suites use it.
  targets.push({
    name: "postgres, shared server",
    noRestarts: `database restarts skipped: ${support.reason}`,
    async prepare() {
      const dir = mkdtempSync(path.join(tmpdir(), "meterline-crash-"));
      const database = await createTestDatabase("postgres", { migrated: false });
      await database.db.close();
      const config = database.config;
      const url = config.engine === "postgres" ? config.url : "";
      return {
        env: { DATABASE_URL: url, DATA_DIR: dir },
        cluster: null,
        open: () => openDatabase(config),
        async cleanup() {
          await database.drop();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  });
}

/**
 * Three organizations, two of whose cycles start today and yesterday (UTC), so the events' 40
 * hours cross cycle boundaries; a platform key for all three and a key of each one's own.
 */
async function seed(db: Db): Promise<{ orgIds: string[]; senders: Sender[] }> {
  const now = new Date();
  await migrate({ db });
  const { user } = await signUp({
    db: db.kysely,
    email: `crash-${now.getTime()}@example.test`,
    password: "correct horse battery staple",
    name: "Crash Tester",
    now,
  });
  const orgIds: string[] = [];
  for (const name of ["Alpha", "Beta", "Gamma"])
    orgIds.push((await createOrg({ db: db.kysely, owner: user, name, trialDays: 15, now })).id);
  const anchorDays = [1, now.getUTCDate(), new Date(now.getTime() - 86_400_000).getUTCDate()];
  for (const [index, orgId] of orgIds.entries()) {
    const anchorDay = anchorDays[index] ?? 1;
    if (anchorDay === 1) continue;
    await inTransaction(db.kysely, (tx) =>
      saveCycleSchedule(tx, { orgId, schedule: { anchorDay, bridge: null, beforeBridge: null } }),
    );
  }
  const key = async (orgId: string | null) =>
    (
      await createApiKey({
        db: db.kysely,
        orgId,
        name: "crash",
        scopes: ["usage:write"],
        createdBy: null,
        now,
      })
    ).key;
  const senders: Sender[] = [{ key: await key(null), orgIds }];
  for (const orgId of orgIds) senders.push({ key: await key(orgId), orgIds: [orgId] });
  return { orgIds, senders };
}

async function withDb<T>(setup: Setup, work: (db: Db) => Promise<T>): Promise<T> {
  const db = await setup.open();
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}

/** Fails with the first examples of each finding and how many there are. */
function expectClean(findings: AuditFindings, context: string): void {
  const { stored: _, ...lists } = findings;
  const counts = Object.fromEntries(Object.entries(lists).map(([name, list]) => [name, list.length]));
  const examples = Object.fromEntries(Object.entries(lists).map(([name, list]) => [name, list.slice(0, 5)]));
  expect(examples, `${context}: ${JSON.stringify(counts)}`).toEqual({
    missing: [],
    unexpected: [],
    altered: [],
    repeated: [],
    dailyDrift: [],
    mauDeviceDrift: [],
    mauCountDrift: [],
    gaugeDrift: [],
  });
}

async function withDeadline<T>(work: Promise<T>, ms: number, explain: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not done within ${ms} ms: ${explain()}`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

for (const target of targets) {
  describe(`crash safety of usage ingestion [${target.name}]`, () => {
    const random = new SeededRandom(SEED);
    let setup: Setup;
    let orgIds: string[];
    let senders: Sender[];
    const servers: ServerProcess[] = [];
    let loader: UsageLoader | undefined;
    let snapshot: Record<string, string[]> | undefined;
    let startedAt = Date.now();
    const seconds = () => Math.round((Date.now() - startedAt) / 1000);

    const startServer = () => {
      const server = new ServerProcess(setup.env);
      servers.push(server);
      return server;
    };

    beforeAll(async () => {
      startedAt = Date.now();
      setup = await target.prepare();
      ({ orgIds, senders } = await withDb(setup, seed));
    }, 180_000);

    afterAll(async () => {
      loader?.stop();
      await Promise.all(servers.map((server) => server.kill()));
      await setup?.cleanup();
    }, 120_000);

    const restarts = target.noRestarts === null;
    it(
      `stores every acknowledged event exactly once through ${KILLS} SIGKILLs of the server` +
        (restarts ? ` and ${DB_RESTARTS} immediate stops of PostgreSQL` : ` (${target.noRestarts})`),
      async () => {
        const address = new ServerAddress();
        const figures = { kills: 0, killsDuringStart: 0, databaseRestarts: 0, requestsCutOff: 0, downMs: 0 };
        let server = startServer();
        address.set(await server.ready(120_000));
        const load = new UsageLoader({
          random: new SeededRandom(SEED ^ 0x5bd1e995),
          factory: new EventFactory({ random: new SeededRandom(SEED ^ 0x1b873593), devicesPerOrg: 2_000 }),
          senders,
          address,
          batchSize: [20, 400],
        });
        loader = load;
        const loading = load.run(WORKERS);
        const state = () =>
          `seed ${SEED}, ${JSON.stringify({ ...figures, ...load.stats })}, anomalies ${load.anomalies.slice(0, 3)}` +
          `\nserver output:\n${server.output()}\n${setup.cluster?.log() ?? ""}`;
        // A server that exits by itself (not killed by this suite) fails the run at once.
        let crashed: (error: Error) => void = () => {};
        const watchdog = new Promise<never>((_, reject) => {
          crashed = reject;
        });
        const watch = (serving: ServerProcess) =>
          void serving.exited.then(() => {
            if (serving.crashed) crashed(new Error(`the server exited by itself:\n${serving.output()}`));
          });
        watch(server);

        const steps = random.shuffle([
          ...Array<"kill">(KILLS).fill("kill"),
          ...Array<"database">(restarts ? DB_RESTARTS : 0).fill("database"),
        ]);
        const chaos = async () => {
          for (const step of steps) {
            await sleep(random.int(400, 2_000));
            // Strike while requests are out, so some are cut off between commit and reply.
            for (let waited = 0; load.outstanding === 0 && waited < 2_000; waited += 5) await sleep(5);
            if (step === "database" && setup.cluster) {
              await setup.cluster.crash();
              figures.databaseRestarts += 1;
              await sleep(random.int(100, 1_500));
              await setup.cluster.start();
              // The same server process must find its database again by itself.
              await server.healthy(120_000);
              continue;
            }
            figures.requestsCutOff += load.outstanding;
            const down = Date.now();
            address.set(null);
            await server.kill();
            figures.kills += 1;
            if (random.chance(0.3)) {
              // Once more while it starts: opening or recovering the database, migrating.
              const early = startServer();
              await sleep(random.int(100, 3_000));
              if (!early.listening) figures.killsDuringStart += 1;
              await early.kill();
            }
            server = startServer();
            watch(server);
            address.set(await server.ready(120_000));
            figures.downMs += Date.now() - down;
          }
          // Load into the last server, then every batch still unacknowledged is sent again.
          await sleep(random.int(500, 1_500));
          load.finish();
          await loading;
        };
        await withDeadline(Promise.race([chaos(), watchdog]), RUN_TIMEOUT_MS, state);
        await server.stop();
        expect(load.anomalies, state()).toEqual([]);
        // Some requests were cut off by the kills, else this proved little.
        expect(load.stats.unanswered, state()).toBeGreaterThan(0);

        const { findings, held } = await withDb(setup, async (db) => ({
          findings: await auditUsage(db.kysely, { orgIds, acknowledged: load.acknowledged }),
          held: await usageSnapshot(db.kysely, orgIds),
        }));
        expectClean(findings, `seed ${SEED}`);
        expect(findings.stored).toBe(load.acknowledged.size);
        expect(load.acknowledged.size).toBe(load.stats.eventsAcked);
        snapshot = held;

        const report = {
          engine: target.name,
          seed: SEED,
          killsSurvived: figures.kills,
          killsDuringStart: figures.killsDuringStart,
          databaseRestarts: figures.databaseRestarts,
          requestsCutOff: figures.requestsCutOff,
          batches: load.stats.batchesAcked,
          eventsAcknowledged: load.stats.eventsAcked,
          eventsLost: findings.missing.length,
          duplicates: load.stats.duplicates,
          attempts: load.stats.attempts,
          unanswered: load.stats.unanswered,
          serverErrors: load.stats.serverErrors,
          rateLimited: load.stats.rateLimited,
          secondsDownPerKill: Math.round(figures.downMs / Math.max(1, figures.kills) / 100) / 10,
          seconds: seconds(),
        };
        console.log(`crash safety figures ${JSON.stringify(report)}`);
      },
      RUN_TIMEOUT_MS + 120_000,
    );

    it("answers a full resend with duplicates only and leaves every aggregate as it was", async () => {
      expect(snapshot, "the crash run above must have passed").toBeDefined();
      const batches = loader?.batches ?? [];
      const server = startServer();
      const url = await server.ready(120_000);
      const answers = new Map<string, number>();
      const queue = [...batches];
      let resent = 0;
      const worker = async () => {
        for (let batch = queue.shift(); batch; batch = queue.shift()) {
          // 4 workers, one request at a time each: far under the per-key limit.
          const response = await fetch(`${url}/v1/usage/events`, {
            method: "POST",
            headers: { authorization: `Bearer ${batch.sender.key}`, "content-type": "application/json" },
            body: JSON.stringify({ events: batch.events }),
          });
          const body = (await response.json()) as { accepted?: number; duplicates?: number; rejected?: [] };
          const expected = { accepted: 0, duplicates: batch.events.length, rejected: [] };
          const verdict =
            response.status === 200 && JSON.stringify(body) === JSON.stringify(expected)
              ? "all duplicates"
              : `${response.status} ${JSON.stringify(body).slice(0, 200)}`;
          answers.set(verdict, (answers.get(verdict) ?? 0) + 1);
          resent += batch.events.length;
          await sleep(15);
        }
      };
      await Promise.all(Array.from({ length: WORKERS }, worker));
      await server.stop();
      expect(Object.fromEntries(answers)).toEqual({ "all duplicates": batches.length });
      expect(resent).toBe(loader?.acknowledged.size);

      const { after, findings } = await withDb(setup, async (db) => ({
        after: await usageSnapshot(db.kysely, orgIds),
        findings: await auditUsage(db.kysely, { orgIds, acknowledged: loader?.acknowledged ?? new Map() }),
      }));
      expect(after).toEqual(snapshot);
      expectClean(findings, `after the resend, seed ${SEED}`);
      console.log(
        `crash safety resend ${JSON.stringify({ engine: target.name, batches: batches.length, events: resent, seconds: seconds() })}`,
      );
    }, 300_000);

    it("the audit itself notices a lost event, a doubled sum, a miscounted device and a stale gauge", async () => {
      expect(snapshot, "the crash run above must have passed").toBeDefined();
      const acknowledged = loader?.acknowledged ?? new Map();
      class Undo extends Error {
        constructor(readonly findings: AuditFindings) {
          super("undo");
        }
      }
      const findings = await withDb(setup, (db) =>
        db.kysely
          .transaction()
          .execute(async (tx) => {
            const one = (metric: string) => sql<{ org_id: string; id: string }>`
              SELECT org_id, id FROM usage_events WHERE org_id = ANY (${orgIds}::text[]) AND metric = ${metric}
              ORDER BY org_id, id LIMIT 1`;
            const lost = (await one("build_minutes").execute(tx)).rows[0];
            await sql`DELETE FROM usage_events WHERE org_id = ${lost?.org_id} AND id = ${lost?.id}`.execute(
              tx,
            );
            await sql`
              UPDATE usage_daily SET quantity = quantity * 2
              WHERE (org_id, metric, day) = (SELECT org_id, metric, day FROM usage_daily
                WHERE org_id = ANY (${orgIds}::text[]) AND metric = 'bandwidth' ORDER BY 1, 2, 3 LIMIT 1)`.execute(
              tx,
            );
            await sql`
              DELETE FROM mau_devices WHERE (org_id, cycle_start, device_id) = (SELECT org_id, cycle_start, device_id
                FROM mau_devices WHERE org_id = ANY (${orgIds}::text[]) ORDER BY 1, 2, 3 LIMIT 1)`.execute(
              tx,
            );
            await sql`
              UPDATE storage_gauges SET bytes = bytes + 1
              WHERE (org_id, app_id) = (SELECT org_id, app_id FROM storage_gauges
                WHERE org_id = ANY (${orgIds}::text[]) ORDER BY 1, 2 LIMIT 1)`.execute(tx);
            throw new Undo(await auditUsage(tx, { orgIds, acknowledged }));
          })
          .catch((error: unknown) => {
            if (error instanceof Undo) return error.findings;
            throw error;
          }),
      );
      const counts = Object.fromEntries(
        Object.entries(findings).map(([name, value]) => [name, Array.isArray(value) ? value.length : value]),
      );
      expect(counts).toEqual({
        stored: acknowledged.size - 1,
        missing: 1,
        unexpected: 0,
        altered: 0,
        repeated: 0,
        // the doubled day, and the day of the lost build
        dailyDrift: 2,
        mauDeviceDrift: 1,
        // the cycle of the missing device: its counter now says one more than the list
        mauCountDrift: 1,
        gaugeDrift: 1,
      });
    });
  });
}
