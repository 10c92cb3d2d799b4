import { randomBytes } from "node:crypto";
import { Kysely, type LogEvent, PostgresDialect } from "kysely";
import pg from "pg";
import type { Database } from "../src/config.js";
import { openDatabase } from "../src/db/client.js";
import { migrate } from "../src/db/migrate.js";
import type { Schema } from "../src/db/schema.js";
import { sha256Hex } from "../src/domain/sha256.js";
import { canonicalEvent, parseUsageEvent } from "../src/domain/usageEvents.js";
import { recordUsage } from "../src/services/usage/recordUsage.js";
import { withThrowawayDatabase } from "./databases.js";
import { count, heading, ms, table } from "./format.js";
import { runInFlight } from "./load.js";
import type { BenchOptions, EngineName } from "./options.js";
import { seedOrgs } from "./seed.js";
import { BATCH_SIZE, buildBatch, type WireEvent } from "./workload.js";

const WARMUP_BATCHES = 5;
const ORGS = 4;

/**
 * A statement's label: transaction control together, anything else by its first words, so the
 * breakdown follows recordUsage's statements as they change.
 */
function kindOf(sqlText: string): string {
  const words = sqlText.trim().replace(/\s+/g, " ");
  if (/^(begin|commit|rollback|start transaction)/i.test(words)) return "begin / commit";
  return words.length > 48 ? `${words.slice(0, 48)}…` : words;
}

/**
 * (diagnostic, BENCH_ONLY=spans) Where one batch's time goes in `recordUsage` on PostgreSQL:
 * the service runs one batch at a time over a Kysely that logs each statement's duration, and
 * the rest of the batch's time is this process's JavaScript. Then the pure steps the service
 * runs per event, timed alone, and the service at several batches in flight without HTTP.
 */
export async function runSpans({ options, engines }: { options: BenchOptions; engines: EngineName[] }) {
  const { batches } = options.spans;
  heading(
    `(spans) recordUsage on PostgreSQL, one ${count(BATCH_SIZE)}-event batch at a time, ${batches} batches`,
  );
  if (!engines.includes("postgres")) {
    console.log("  skipped: needs PostgreSQL");
    return;
  }
  await withThrowawayDatabase({
    engine: "postgres",
    adminUrl: options.postgresAdminUrl,
    work: (database) => measure({ database, batches, inFlight: options.ingestion.inFlight }),
  });
}

async function measure({
  database,
  batches,
  inFlight,
}: {
  database: Database;
  batches: number;
  inFlight: number;
}) {
  if (database.engine !== "postgres") throw new Error("spans are measured on PostgreSQL");
  const db = await openDatabase(database);
  const statements = new Map<string, number>();
  let logging = false;
  const logged = loggedKysely({
    url: database.url,
    onQuery: (sqlText, millis) => {
      if (!logging) return;
      const kind = kindOf(sqlText);
      statements.set(kind, (statements.get(kind) ?? 0) + millis);
    },
  });
  try {
    await migrate({ db });
    const { orgIds } = await seedOrgs({ db: db.kysely, orgs: ORGS });
    const now = Date.now();
    const batchOf = (runId: string, batch: number) => buildBatch({ runId, batch, orgIds, now });
    const record = (events: WireEvent[]) =>
      recordUsage({ db: logged, keyOrgId: null, events, now: new Date() }).then((result) => {
        if (result.accepted !== events.length) throw new Error(`only ${result.accepted} accepted`);
      });

    const warm = `spanwarm${randomBytes(3).toString("hex")}`;
    for (let batch = 0; batch < WARMUP_BATCHES; batch++) await record(batchOf(warm, batch));
    const run = `span${randomBytes(3).toString("hex")}`;
    const prepared = Array.from({ length: batches }, (_, batch) => batchOf(run, batch));
    logging = true;
    const started = performance.now();
    for (const events of prepared) await record(events);
    const totalMs = performance.now() - started;
    logging = false;
    printStatements({ statements, totalMs, batches });
    printPureSteps({ events: prepared[0] ?? [] });

    const parallel = `spanpar${randomBytes(3).toString("hex")}`;
    const parallelBatches = Array.from({ length: batches }, (_, batch) => batchOf(parallel, batch));
    const parallelSeconds = await runInFlight({
      total: batches,
      concurrency: inFlight,
      task: (batch) => record(parallelBatches[batch] ?? []),
    });
    console.log(
      `  recordUsage without HTTP, ${inFlight} in flight: ${count((batches * BATCH_SIZE) / parallelSeconds)} events/s`,
    );
  } finally {
    await logged.destroy();
    await db.close();
  }
}

/**
 * A Kysely over its own pool that reports every statement's duration. recordUsage reads back
 * no int8 or numeric column, so the app's own type parsers (db/client.ts) are not needed here.
 */
function loggedKysely({
  url,
  onQuery,
}: {
  url: string;
  onQuery: (sqlText: string, millis: number) => void;
}): Kysely<Schema> {
  return new Kysely<Schema>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 10 }) }),
    log: (event: LogEvent) => {
      if (event.level === "query") onQuery(event.query.sql, event.queryDurationMillis);
    },
  });
}

function printStatements({
  statements,
  totalMs,
  batches,
}: {
  statements: Map<string, number>;
  totalMs: number;
  batches: number;
}) {
  const inDatabase = [...statements.values()].reduce((sum, value) => sum + value, 0);
  const rows = [["span", "ms per batch", "share"]];
  const share = (value: number) => `${((value / totalMs) * 100).toFixed(0)}%`;
  for (const [kind, millis] of [...statements].sort((a, b) => b[1] - a[1])) {
    rows.push([kind, ms(millis / batches), share(millis)]);
  }
  rows.push([
    "JavaScript between statements",
    ms((totalMs - inDatabase) / batches),
    share(totalMs - inDatabase),
  ]);
  rows.push([
    "whole batch",
    ms(totalMs / batches),
    `${count((batches * BATCH_SIZE * 1000) / totalMs)} events/s`,
  ]);
  table(rows);
}

/** The per-event work the service does in JavaScript, alone, over one batch. */
function printPureSteps({ events }: { events: WireEvent[] }) {
  const body = JSON.stringify({ events });
  const time = (work: () => void) => {
    const rounds = 20;
    work();
    const started = performance.now();
    for (let i = 0; i < rounds; i++) work();
    return (performance.now() - started) / rounds;
  };
  const parsed = events.map((event, index) => parseUsageEvent(event, index));
  table([
    ["per batch, in JavaScript alone", ""],
    ["JSON.parse of the request body", ms(time(() => JSON.parse(body)))],
    [
      "parseUsageEvent (zod) × 1,000",
      ms(
        time(() => {
          for (const [i, event] of events.entries()) parseUsageEvent(event, i);
        }),
      ),
    ],
    [
      "canonicalEvent + sha256 × 1,000",
      ms(
        time(() => {
          for (const result of parsed) if (result.ok) sha256Hex(canonicalEvent(result.event));
        }),
      ),
    ],
  ]);
}
