import { randomBytes } from "node:crypto";
import type { Database } from "../src/config.js";
import { withThrowawayDatabase } from "./databases.js";
import { count, heading, ratio, seconds, table, target } from "./format.js";
import { keepAliveAgent, request, runInFlight } from "./load.js";
import type { BenchOptions, EngineName } from "./options.js";
import { measurePhase, type PhaseCpu } from "./phase.js";
import { profiled } from "./profiling.js";
import { type BenchServer, withBenchServer } from "./serverProcess.js";
import { BATCH_SIZE, buildBatch } from "./workload.js";

const TARGET_EVENTS_PER_SECOND = 50_000;
const TARGET_RATIO = 0.5;

interface Measured {
  seconds: number;
  inFlight: number;
  cpu: PhaseCpu;
}

interface EngineResult {
  engine: EngineName;
  http: Measured;
  raw: Measured;
}

/**
 * (a) POST /v1/usage/events in 1,000-event batches, a few in flight, against a batched INSERT of
 * the same rows by the same driver in the same run: what the service adds over storing the rows.
 */
export async function runIngestion({
  options,
  engines,
}: {
  options: BenchOptions;
  engines: EngineName[];
}): Promise<void> {
  const { batches, inFlight, orgs } = options.ingestion;
  heading(
    `(a) ingestion: ${count(batches)} batches × ${count(BATCH_SIZE)} events over HTTP, ${inFlight} in flight, ` +
      `${orgs} orgs, mix 50% mau / 40% bandwidth / 5% storage / 5% build_minutes`,
  );
  const results: EngineResult[] = [];
  for (const engine of engines) {
    const result = await withThrowawayDatabase({
      engine,
      adminUrl: options.postgresAdminUrl,
      work: (database) => measureEngine({ options, engine, database }),
    });
    results.push(result);
  }
  printResults({ results, events: batches * BATCH_SIZE });
}

async function measureEngine({
  options,
  engine,
  database,
}: {
  options: BenchOptions;
  engine: EngineName;
  database: Database;
}): Promise<EngineResult> {
  const { batches, warmupBatches, inFlight, orgs } = options.ingestion;
  // PGlite is one connection: statements queue anyway, so its baseline runs them one by one.
  const rawInFlight = engine === "postgres" ? inFlight : 1;
  return withBenchServer({
    database,
    logLevel: options.logLevel,
    nodeFlags: options.serverFlags,
    work: async (server) => {
      const { orgIds, usageKey } = await server.call("seed", { orgs, checkKeys: 0 });
      const post = poster({ server, usageKey, inFlight });
      const raw = async ({ runId, batches }: { runId: string; batches: number }) => {
        await server.call("prepareRaw", { runId, batches, orgIds });
        return measurePhase({
          server,
          database,
          work: () => server.call("rawInsert", { inFlight: rawInFlight }),
        });
      };
      await post({ bodies: bodiesOf({ runId: runIdOf("warm"), batches: warmupBatches, orgIds }) });
      await raw({ runId: runIdOf("rawwarm"), batches: warmupBatches });

      const bodies = bodiesOf({ runId: runIdOf("http"), batches, orgIds });
      const http = await profiled({
        server,
        profileDir: options.profileDir,
        name: `ingestion-${engine}`,
        work: () => measurePhase({ server, database, work: () => post({ bodies }) }),
      });
      const baseline = await raw({ runId: runIdOf("raw"), batches });
      return {
        engine,
        http: { seconds: http.result, inFlight, cpu: http.cpu },
        raw: { seconds: baseline.result, cpu: baseline.cpu, inFlight: rawInFlight },
      };
    },
  });
}

/** Fresh ids for every phase of every run, so nothing is ever a duplicate. */
function runIdOf(phase: string): string {
  return `${phase}${randomBytes(4).toString("hex")}`;
}

/** Request bodies, serialized before the clock starts. */
function bodiesOf({
  runId,
  batches,
  orgIds,
}: {
  runId: string;
  batches: number;
  orgIds: string[];
}): string[] {
  const now = Date.now();
  return Array.from({ length: batches }, (_, batch) =>
    JSON.stringify({ events: buildBatch({ runId, batch, orgIds, now }) }),
  );
}

/** Posts every body, `inFlight` at a time; each must come back with all its events accepted. */
function poster({ server, usageKey, inFlight }: { server: BenchServer; usageKey: string; inFlight: number }) {
  const agent = keepAliveAgent({ connections: inFlight });
  const url = new URL("/v1/usage/events", server.url);
  const headers = { authorization: `Bearer ${usageKey}`, "content-type": "application/json" };
  return ({ bodies }: { bodies: string[] }) =>
    runInFlight({
      total: bodies.length,
      concurrency: inFlight,
      task: async (batch) => {
        const reply = await request({ agent, url, method: "POST", headers, body: bodies[batch] });
        const result = JSON.parse(reply.body) as { accepted?: number };
        if (reply.status !== 200 || result.accepted !== BATCH_SIZE) {
          throw new Error(`batch ${batch}: HTTP ${reply.status} ${reply.body.slice(0, 500)}`);
        }
      },
    });
}

function printResults({ results, events }: { results: EngineResult[]; events: number }): void {
  const rows = [
    ["engine", "path", "events/s", "time", "in flight", "CPU: server", "PostgreSQL", "load generator"],
  ];
  const row = (engine: string, path: string, measured: Measured) => [
    engine,
    path,
    count(events / measured.seconds),
    seconds(measured.seconds),
    String(measured.inFlight),
    seconds(measured.cpu.server),
    measured.cpu.postgres === null ? "-" : seconds(measured.cpu.postgres),
    seconds(measured.cpu.loadGenerator),
  ];
  for (const { engine, http, raw } of results) {
    rows.push(row(engine, "HTTP", http));
    rows.push(row(engine, "raw INSERT", raw));
  }
  table(rows);
  for (const { engine, http, raw } of results) {
    const rate = events / http.seconds;
    const share = raw.seconds / http.seconds;
    const rateTarget =
      engine === "postgres"
        ? ` ${target({ text: `≥ ${count(TARGET_EVENTS_PER_SECOND)} events/s`, met: rate >= TARGET_EVENTS_PER_SECOND })}`
        : "";
    console.log(
      `  ${engine}: HTTP ${count(rate)} events/s${rateTarget}, HTTP ÷ raw INSERT ${ratio(share)} ` +
        target({ text: `≥ ${TARGET_RATIO}`, met: share >= TARGET_RATIO }),
    );
  }
}
