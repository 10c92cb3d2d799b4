import { randomBytes } from "node:crypto";
import type { Database } from "../src/config.js";
import { withThrowawayDatabase } from "./databases.js";
import { count, heading, ms, ratio, table, target } from "./format.js";
import { keepAliveAgent, percentile, request, type SustainedResult, sustainLoad } from "./load.js";
import type { BenchOptions, EngineName } from "./options.js";
import { measurePhase, type PhaseCpu } from "./phase.js";
import { profiled } from "./profiling.js";
import { type BenchServer, withBenchServer } from "./serverProcess.js";
import { buildBatch } from "./workload.js";

const TARGET_RATIO = 0.7;
const TARGET_P99_MS = 5;
/** Usage the checked organization has before the load: a few batches of the ingestion mix. */
const USAGE_BATCHES = 3;

interface Measured {
  load: SustainedResult;
  cpu: PhaseCpu;
}

interface RouteLoad {
  healthz: Measured;
  check: Measured;
}

/**
 * (b) POST /v1/check against GET /healthz on the same server in the same run, N keep-alive
 * connections each. /healthz pings the database, so it is the floor of a request that reaches
 * PostgreSQL once; the check is meant to be answered from memory.
 */
export async function runCheck({ options, engines }: { options: BenchOptions; engines: EngineName[] }) {
  const { connections, seconds, warmupSeconds } = options.check;
  heading(
    `(b) /v1/check vs /healthz over HTTP: ${connections} keep-alive connections, ${seconds} s each ` +
      `after ${warmupSeconds} s of warm-up, ${options.check.keys} entitlements:read key(s), ` +
      `request log at "${options.logLevel}"`,
  );
  const loads: { engine: EngineName; load: RouteLoad }[] = [];
  for (const engine of engines) {
    const load = await withThrowawayDatabase({
      engine,
      adminUrl: options.postgresAdminUrl,
      work: (database) => measureEngine({ options, engine, database }),
    });
    loads.push({ engine, load });
  }
  printResults({ loads });
}

async function measureEngine({
  options,
  engine,
  database,
}: {
  options: BenchOptions;
  engine: EngineName;
  database: Database;
}): Promise<RouteLoad> {
  const { connections, seconds, warmupSeconds, keys } = options.check;
  return withBenchServer({
    database,
    logLevel: options.logLevel,
    nodeFlags: options.serverFlags,
    work: async (server) => {
      const { orgIds, usageKey, checkKeys } = await server.call("seed", { orgs: 1, checkKeys: keys });
      await giveUsage({ server, usageKey, orgIds });
      const routes = {
        healthz: { url: new URL("/healthz", server.url), method: "GET", headers: {} },
        check: {
          url: new URL("/v1/check", server.url),
          method: "POST",
          headers: checkKeys.map((key) => ({
            authorization: `Bearer ${key}`,
            "content-type": "application/json",
          })),
          body: JSON.stringify({ org_id: orgIds[0], action: "serve_update" }),
        },
      };
      await expectAnswer({
        ...routes.check,
        headers: routes.check.headers[0] ?? {},
        pattern: /"allowed":(true|false)/,
      });
      for (const route of [routes.healthz, routes.check]) {
        await sustainLoad({ ...route, connections, seconds: warmupSeconds });
      }
      const measure = (route: Parameters<typeof sustainLoad>[0]) =>
        measurePhase({ server, database, work: () => sustainLoad(route) }).then(({ result, cpu }) => ({
          load: result,
          cpu,
        }));
      const healthz = await measure({ ...routes.healthz, connections, seconds });
      const check = await profiled({
        server,
        profileDir: options.profileDir,
        name: `check-${engine}`,
        work: () => measure({ ...routes.check, connections, seconds }),
      });
      return { healthz, check };
    },
  });
}

async function giveUsage({
  server,
  usageKey,
  orgIds,
}: {
  server: BenchServer;
  usageKey: string;
  orgIds: string[];
}) {
  const agent = keepAliveAgent({ connections: 1 });
  const runId = `check${randomBytes(4).toString("hex")}`;
  for (let batch = 0; batch < USAGE_BATCHES; batch++) {
    const body = JSON.stringify({ events: buildBatch({ runId, batch, orgIds, now: Date.now() }) });
    const reply = await request({
      agent,
      url: new URL("/v1/usage/events", server.url),
      method: "POST",
      headers: { authorization: `Bearer ${usageKey}`, "content-type": "application/json" },
      body,
    });
    if (reply.status !== 200)
      throw new Error(`usage for the checked org: HTTP ${reply.status} ${reply.body}`);
  }
  agent.destroy();
}

async function expectAnswer({
  url,
  method,
  headers,
  body,
  pattern,
}: {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: string;
  pattern: RegExp;
}): Promise<void> {
  const agent = keepAliveAgent({ connections: 1 });
  const reply = await request({ agent, url, method, headers, body });
  agent.destroy();
  if (reply.status !== 200 || !pattern.test(reply.body)) {
    throw new Error(`${url.pathname} answered HTTP ${reply.status} ${reply.body}`);
  }
}

function printResults({ loads }: { loads: { engine: EngineName; load: RouteLoad }[] }): void {
  const rate = (result: SustainedResult) => result.requests / result.seconds;
  const perRequest = (cpuSeconds: number | null, result: SustainedResult) =>
    cpuSeconds === null ? "-" : `${((cpuSeconds * 1e6) / result.requests).toFixed(0)} µs`;
  const row = (name: string, { load: result, cpu }: Measured) => [
    name,
    `${count(rate(result))} req/s`,
    `p50 ${ms(percentile({ sorted: result.latencies, p: 50 }))}`,
    `p99 ${ms(percentile({ sorted: result.latencies, p: 99 }))}`,
    `max ${ms(percentile({ sorted: result.latencies, p: 100 }))}`,
    perRequest(cpu.server, result),
    perRequest(cpu.postgres, result),
    perRequest(cpu.loadGenerator, result),
    count(result.requests),
    result.errors ? `${result.errors} ${JSON.stringify(result.unexpected)}` : "0",
  ];
  const header = ["route", "throughput", "latency", "", "", "CPU/request: server", "PostgreSQL"];
  const rows = [[...header, "load generator", "requests", "errors"]];
  for (const { engine, load } of loads) {
    rows.push(row(`${engine} /healthz`, load.healthz), row(`${engine} /v1/check`, load.check));
  }
  table(rows);
  for (const { engine, load } of loads) {
    const share = rate(load.check.load) / rate(load.healthz.load);
    const p99 = percentile({ sorted: load.check.load.latencies, p: 99 });
    console.log(
      `  ${engine}: check ÷ healthz ${ratio(share)} ${target({ text: `≥ ${TARGET_RATIO}`, met: share >= TARGET_RATIO })}` +
        `, check p99 ${ms(p99)} ${target({ text: `< ${TARGET_P99_MS} ms`, met: p99 < TARGET_P99_MS })}`,
    );
  }
  const failed = loads.filter(({ load }) => load.check.load.errors || load.healthz.load.errors);
  if (failed.length)
    throw new Error(`requests failed under load on ${failed.map(({ engine }) => engine).join(", ")}`);
}
