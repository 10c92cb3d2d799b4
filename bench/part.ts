/**
 * Runs one part of the benchmark in this process (`tsx bench/part.ts <part>`): run.ts gives each
 * part a fresh process, so one part's memory (PGlite's WebAssembly heap, JIT state) is never
 * measured in the next, and the MAU part's RSS starts from a clean baseline.
 */
import { runCheck } from "./check.js";
import { dropPendingDatabases } from "./databases.js";
import { runIngestion } from "./ingestion.js";
import { runInProcessCheck } from "./inProcess.js";
import { runLedger } from "./ledger.js";
import { runMau } from "./mau.js";
import { type BenchOptions, type EngineName, type PartName, partNames, readOptions } from "./options.js";
import { runSlowClients } from "./slowClients.js";
import { runSpans } from "./spans.js";

type Part = (context: { options: BenchOptions; engines: EngineName[] }) => Promise<void>;

const parts: Record<PartName, Part> = {
  ingestion: runIngestion,
  check: runCheck,
  inprocess: runInProcessCheck,
  mau: runMau,
  ledger: runLedger,
  slow: runSlowClients,
  spans: runSpans,
};

// An interrupted part still drops its PostgreSQL databases; its server process exits by itself
// when this one goes (it watches the IPC channel). Ctrl-C may arrive twice (from the terminal and
// forwarded by run.ts): the second must not cut the dropping short.
let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.error(`\n${signal}: dropping the benchmark's databases`);
    // The forced drop cuts the part's own connections, whose errors no one awaits any more.
    process.on("uncaughtException", () => {});
    void dropPendingDatabases().finally(() => process.exit(130));
  });
}

const name = process.argv[2] as PartName;
if (!partNames.includes(name)) throw new Error(`usage: bench/part.ts <${partNames.join("|")}>`);
// run.ts has already asked whether PostgreSQL answers; it passes the engines that do.
const options = readOptions();
try {
  await parts[name]({ options, engines: options.engines });
} catch (error) {
  console.error(
    `  ${name} FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  process.exitCode = 1;
}
