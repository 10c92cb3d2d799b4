import { randomBytes } from "node:crypto";
import { loadConfig } from "../src/config.js";
import { type Db, openDatabase } from "../src/db/client.js";
import { migrate } from "../src/db/migrate.js";
import { systemClock } from "../src/domain/clock.js";
import { type Action, actions } from "../src/domain/entitlements.js";
import { recordUsage } from "../src/services/usage/recordUsage.js";
import { EntitlementCache } from "../src/workers/entitlementCache.js";
import { withThrowawayDatabase } from "./databases.js";
import { count, heading, ms, seconds, table, target } from "./format.js";
import { percentile } from "./load.js";
import type { BenchOptions, EngineName } from "./options.js";
import { seedOrgs } from "./seed.js";
import { buildBatch } from "./workload.js";

const TARGET_CALLS_PER_SECOND = 1_000_000;
const USAGE_BATCHES = 3;

interface EngineResult {
  engine: EngineName;
  warm: { calls: number; seconds: number };
  /** Milliseconds of a first check on a new cache, sorted. */
  cold: Float64Array;
}

/**
 * (c) EntitlementCache.check in this process: a warm cache answering from memory in a tight
 * loop, and what a cold refresh (the database round trips behind a first or invalidated check)
 * costs.
 */
export async function runInProcessCheck({
  options,
  engines,
}: {
  options: BenchOptions;
  engines: EngineName[];
}) {
  const { calls, coldRefreshes } = options.inProcess;
  heading(
    `(c) in-process EntitlementCache.check: ${count(calls)} calls on a warm cache, ${coldRefreshes} cold refreshes`,
  );
  const results: EngineResult[] = [];
  for (const engine of engines) {
    results.push(
      await withThrowawayDatabase({
        engine,
        adminUrl: options.postgresAdminUrl,
        work: async (database) => {
          const db = await openDatabase(database);
          try {
            await migrate({ db });
            return await measure({ db, engine, calls, coldRefreshes });
          } finally {
            await db.close();
          }
        },
      }),
    );
  }
  printResults({ results });
}

async function measure({
  db,
  engine,
  calls,
  coldRefreshes,
}: {
  db: Db;
  engine: EngineName;
  calls: number;
  coldRefreshes: number;
}): Promise<EngineResult> {
  const { catalog } = loadConfig({ NODE_ENV: "test", LOG_LEVEL: "silent" });
  const { orgIds } = await seedOrgs({ db: db.kysely, orgs: 1 });
  const orgId = orgIds[0] as string;
  await giveUsage({ db, orgId });
  const newCache = () => new EntitlementCache({ db: db.kysely, catalog, clock: systemClock });

  const cold: number[] = [];
  for (let i = 0; i < coldRefreshes; i++) {
    const cache = newCache();
    const started = performance.now();
    await cache.check(orgId, "serve_update");
    cold.push(performance.now() - started);
  }

  const cache = newCache();
  await cache.check(orgId, "serve_update");
  const warmSeconds = await warmLoop({ cache, orgId, calls });
  return { engine, warm: { calls, seconds: warmSeconds }, cold: Float64Array.from(cold).sort() };
}

/** `calls` checks back to back, cycling through the actions, as a gate in a hot path would. */
async function warmLoop({ cache, orgId, calls }: { cache: EntitlementCache; orgId: string; calls: number }) {
  let allowed = 0;
  const started = performance.now();
  for (let i = 0; i < calls; i++) {
    if ((await cache.check(orgId, actions[i % actions.length] as Action)).allowed) allowed += 1;
  }
  const elapsed = (performance.now() - started) / 1000;
  // Using the answers keeps the loop honest; the trial org stays under its MAU and bandwidth
  // quotas, so serve_update at least is allowed.
  if (allowed === 0) throw new Error("no check was allowed: the benchmark's org is not what it should be");
  return elapsed;
}

async function giveUsage({ db, orgId }: { db: Db; orgId: string }): Promise<void> {
  const runId = `inproc${randomBytes(4).toString("hex")}`;
  for (let batch = 0; batch < USAGE_BATCHES; batch++) {
    const events = buildBatch({ runId, batch, orgIds: [orgId], now: Date.now() });
    await recordUsage({ db: db.kysely, keyOrgId: orgId, events, now: new Date() });
  }
}

function printResults({ results }: { results: EngineResult[] }): void {
  const rows = [["engine", "warm calls/s", "(time)", "cold refresh p50", "min", "max"]];
  for (const { engine, warm, cold } of results) {
    rows.push([
      engine,
      count(warm.calls / warm.seconds),
      `(${seconds(warm.seconds)})`,
      ms(percentile({ sorted: cold, p: 50 })),
      ms(percentile({ sorted: cold, p: 0 })),
      ms(percentile({ sorted: cold, p: 100 })),
    ]);
  }
  table(rows);
  for (const { engine, warm } of results) {
    const rate = warm.calls / warm.seconds;
    console.log(
      `  ${engine}: ${target({ text: `≥ ${count(TARGET_CALLS_PER_SECOND)} calls/s`, met: rate >= TARGET_CALLS_PER_SECOND })}`,
    );
  }
}
