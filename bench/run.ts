/**
 * Meterline's benchmarks: `npm run bench`. Prints the machine, then runs each part in a process
 * of its own (bench/part.ts), printing its figures next to its targets. Select parts with
 * BENCH_ONLY=ingestion,check,inprocess,mau,ledger,slow (and `spans`, a diagnostic of where an ingestion
 * batch's time goes); sizes and the other knobs are in bench/options.ts. Every part makes its
 * own throwaway databases: PGlite in memory, and on PostgreSQL (DATABASE_URL, else
 * 127.0.0.1:5432/test) a uniquely named database dropped when the part ends.
 */
import { type ChildProcess, fork } from "node:child_process";
import { printMachine } from "./machine.js";
import { readOptions } from "./options.js";

const options = readOptions();
const started = performance.now();
const { postgres } = await printMachine({ adminUrl: options.postgresAdminUrl });
if (options.serverFlags.length) console.log(`  server node flags: ${options.serverFlags.join(" ")}`);
const engines = options.engines.filter((engine) => engine !== "postgres" || postgres);
if (engines.length === 0) throw new Error(`none of BENCH_ENGINES=${options.engines.join(",")} is reachable`);

// A signal is passed on to the running part, which drops its databases and exits; this process
// reports after it instead of dying first.
let interrupted = false;
let runningPart: ChildProcess | null = null;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    interrupted = true;
    runningPart?.kill(signal);
  });
}

const failed: string[] = [];
for (const part of options.parts) {
  if (interrupted) break;
  const code = await runPart({ part, engines: engines.join(",") });
  if (code !== 0) failed.push(part);
}
const took = ((performance.now() - started) / 1000).toFixed(0);
console.log(`\nbenchmark finished in ${took} s${failed.length ? `; FAILED: ${failed.join(", ")}` : ""}`);
process.exitCode = failed.length || interrupted ? 1 : 0;

function runPart({ part, engines }: { part: string; engines: string }): Promise<number> {
  const child = fork(new URL("./part.ts", import.meta.url), [part], {
    env: { ...process.env, BENCH_ENGINES: engines },
    stdio: "inherit",
  });
  runningPart = child;
  return new Promise((resolve) =>
    child.on("exit", (code) => {
      runningPart = null;
      resolve(code ?? 1);
    }),
  );
}
