import { randomBytes } from "node:crypto";
import { sql } from "kysely";
import { loadConfig } from "../src/config.js";
import { type Db, openDatabase } from "../src/db/client.js";
import { migrate } from "../src/db/migrate.js";
import { systemClock } from "../src/domain/clock.js";
import { readAdvice } from "../src/services/advisor/advisePlans.js";
import { readOutlook, readUsage } from "../src/services/usage/readUsage.js";
import { recordUsage } from "../src/services/usage/recordUsage.js";
import { EntitlementCache } from "../src/workers/entitlementCache.js";
import { withThrowawayDatabase } from "./databases.js";
import { count, heading, mib, ms, seconds, table, target } from "./format.js";
import { runInFlight } from "./load.js";
import { type MemorySample, sampleMemory } from "./memory.js";
import type { BenchOptions, EngineName } from "./options.js";
import { seedOrgs } from "./seed.js";
import { BATCH_SIZE, type WireEvent } from "./workload.js";

/** Memory may grow this much from the first to the last checkpoint and still count as flat. */
const FLAT_TOLERANCE_BYTES = 64 * 2 ** 20;
const READS = 3;

interface Checkpoint {
  devices: number;
  memory: MemorySample;
}

/**
 * (d) One organization's cycle with `devices` distinct devices, recorded through the service
 * (`recordUsage`, 1,000-event batches, several in flight) on PostgreSQL; then the cycle's MAU
 * read back through `readUsage`, which must be exactly the device count, and the reads of the
 * usage view (with its forecast) and of the advisor timed. Memory is sampled at
 * each quarter: ingestion must not keep anything per device in the process.
 */
export async function runMau({ options, engines }: { options: BenchOptions; engines: EngineName[] }) {
  const { devices, inFlight } = options.mau;
  heading(
    `(d) MAU at scale: ${count(devices)} distinct devices of one org through recordUsage, ${inFlight} batches in flight`,
  );
  if (!engines.includes("postgres")) {
    console.log("  skipped: this part runs on PostgreSQL, which is not among the engines of this run");
    return;
  }
  await withThrowawayDatabase({
    engine: "postgres",
    adminUrl: options.postgresAdminUrl,
    work: async (database) => {
      const db = await openDatabase(database);
      try {
        await migrate({ db });
        await measure({ db, devices, inFlight });
      } finally {
        await db.close();
      }
    },
  });
}

async function measure({
  db,
  devices,
  inFlight,
}: {
  db: Db;
  devices: number;
  inFlight: number;
}): Promise<void> {
  const { orgIds } = await seedOrgs({ db: db.kysely, orgs: 1 });
  const orgId = orgIds[0] as string;
  const runId = `mau${randomBytes(4).toString("hex")}`;
  const batches = Math.ceil(devices / BATCH_SIZE);
  const checkpoints: Checkpoint[] = [{ devices: 0, memory: sampleMemory() }];
  let ingestSeconds = 0;
  let done = 0;
  for (let quarter = 1; quarter <= 4; quarter++) {
    const until = Math.floor((batches * quarter) / 4);
    const first = done;
    ingestSeconds += await runInFlight({
      total: until - first,
      concurrency: inFlight,
      task: (i) => ingestBatch({ db, orgId, runId, batch: first + i, devices }),
    });
    done = until;
    checkpoints.push({ devices: Math.min(devices, done * BATCH_SIZE), memory: sampleMemory() });
  }
  const reads = await readMau({ db, orgId });
  const { catalog } = loadConfig({ NODE_ENV: "test", LOG_LEVEL: "silent" });
  // The usage view and the advisor read the cycle's days as well (devices first seen per day).
  const outlook = await timeReads(() => readOutlook({ db: db.kysely, catalog, orgId, now: new Date() }));
  const advice = await timeReads(() => readAdvice({ db: db.kysely, catalog, orgId, now: new Date() }));
  const refresh = await coldRefresh({ db, orgId });
  const sizes = await tableSizes({ db });
  printResults({ devices, ingestSeconds, reads, outlook, advice, refresh, sizes, checkpoints });
  if (reads.value !== BigInt(devices)) {
    throw new Error(`readUsage counted ${reads.value} MAU, not ${devices}`);
  }
}

/** Batch `batch` of the run: devices `batch × 1,000` onwards, each new, each event new. */
async function ingestBatch({
  db,
  orgId,
  runId,
  batch,
  devices,
}: {
  db: Db;
  orgId: string;
  runId: string;
  batch: number;
  devices: number;
}): Promise<void> {
  const now = Date.now();
  const first = batch * BATCH_SIZE;
  const events: WireEvent[] = Array.from({ length: Math.min(BATCH_SIZE, devices - first) }, (_, i) => ({
    id: `${runId}-${first + i}`,
    org_id: orgId,
    app_id: `app-${(first + i) % 3}`,
    metric: "mau",
    device_id: `device-${first + i}`,
    timestamp: new Date(now - (i % 1000)).toISOString(),
  }));
  const result = await recordUsage({ db: db.kysely, keyOrgId: orgId, events, now: new Date(now) });
  if (result.accepted !== events.length) {
    throw new Error(
      `batch ${batch}: ${result.accepted} of ${events.length} accepted: ${JSON.stringify(result.rejected[0])}`,
    );
  }
}

async function readMau({ db, orgId }: { db: Db; orgId: string }) {
  const { catalog } = loadConfig({ NODE_ENV: "test", LOG_LEVEL: "silent" });
  const times: number[] = [];
  let value = -1n;
  for (let i = 0; i < READS; i++) {
    const started = performance.now();
    const report = await readUsage({ db: db.kysely, catalog, orgId, now: new Date() });
    times.push(performance.now() - started);
    value = report.raw.mauDevices;
  }
  return { times, value };
}

async function timeReads(read: () => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < READS; i++) {
    const started = performance.now();
    await read();
    times.push(performance.now() - started);
  }
  return times;
}

/** What each invalidation of this org costs the next check: a refresh over the whole cycle. */
async function coldRefresh({ db, orgId }: { db: Db; orgId: string }): Promise<number> {
  const { catalog } = loadConfig({ NODE_ENV: "test", LOG_LEVEL: "silent" });
  const cache = new EntitlementCache({ db: db.kysely, catalog, clock: systemClock });
  const started = performance.now();
  await cache.check(orgId, "serve_update");
  return performance.now() - started;
}

async function tableSizes({ db }: { db: Db }): Promise<{ events: number; devices: number }> {
  const result = await sql<{ events: string; devices: string }>`
    SELECT pg_total_relation_size('usage_events')::text AS events,
      pg_total_relation_size('mau_devices')::text AS devices
  `.execute(db.kysely);
  const row = result.rows[0];
  return { events: Number(row?.events ?? 0), devices: Number(row?.devices ?? 0) };
}

function printResults({
  devices,
  ingestSeconds,
  reads,
  outlook,
  advice,
  refresh,
  sizes,
  checkpoints,
}: {
  devices: number;
  ingestSeconds: number;
  reads: { times: number[]; value: bigint };
  outlook: number[];
  advice: number[];
  refresh: number;
  sizes: { events: number; devices: number };
  checkpoints: Checkpoint[];
}): void {
  const exact = reads.value === BigInt(devices);
  table([
    ["ingestion", `${seconds(ingestSeconds)}, ${count(devices / ingestSeconds)} events/s`],
    ["readUsage", `${reads.times.map(ms).join(", ")} (${READS} reads)`],
    [
      "MAU read",
      `${count(Number(reads.value))} ${exact ? "(exact)" : `(WRONG: expected ${count(devices)})`}`,
    ],
    ["readOutlook (usage view with forecast)", `${outlook.map(ms).join(", ")} (${READS} reads)`],
    ["readAdvice (advisor)", `${advice.map(ms).join(", ")} (${READS} reads)`],
    ["cold entitlement refresh", ms(refresh)],
    ["on disk", `usage_events ${mib(sizes.events)}, mau_devices ${mib(sizes.devices)}`],
  ]);
  const rows = [["devices", "RSS", "heap used (after gc)"]];
  for (const { devices: seen, memory } of checkpoints) {
    rows.push([count(seen), mib(memory.rss), mib(memory.heapUsed)]);
  }
  table(rows);
  // From the first quarter on: the step before it is the process's first batches (the JIT, the
  // pool's connections, the allocator's arenas), paid once whatever the device count.
  const first = checkpoints[1]?.memory ?? checkpoints[0]?.memory;
  const last = checkpoints.at(-1)?.memory;
  const heapGrowth = first && last ? last.heapUsed - first.heapUsed : 0;
  const rssGrowth = first && last ? last.rss - first.rss : 0;
  console.log(
    `  from ${count(checkpoints[1]?.devices ?? 0)} devices to the end: heap ${signedMib(heapGrowth)}, ` +
      `RSS ${signedMib(rssGrowth)} ${target({ text: `flat (heap < +${mib(FLAT_TOLERANCE_BYTES)})`, met: heapGrowth < FLAT_TOLERANCE_BYTES })}`,
  );
}

function signedMib(bytes: number): string {
  return `${bytes >= 0 ? "+" : "-"}${mib(Math.abs(bytes))}`;
}
