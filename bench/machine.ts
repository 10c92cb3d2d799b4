import os from "node:os";
import { PGlite } from "@electric-sql/pglite";
import { postgresVersion } from "./databases.js";
import { heading, table } from "./format.js";

/** Prints what the figures were measured on; answers whether PostgreSQL answers. */
export async function printMachine({ adminUrl }: { adminUrl: string }): Promise<{ postgres: boolean }> {
  const cpus = os.cpus();
  const postgres = await postgresVersion({ adminUrl });
  heading("machine");
  table([
    ["cpu", `${cpus.length} × ${cpus[0]?.model ?? "unknown"}`],
    [
      "memory",
      `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB (${(os.freemem() / 2 ** 30).toFixed(1)} GiB free)`,
    ],
    [
      "os",
      `${os.type()} ${os.release()} ${os.arch()}, load ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")}`,
    ],
    ["node", process.version],
    ["postgresql", postgres ?? `not reachable at ${redact(adminUrl)}: PostgreSQL figures skipped`],
    ["pglite", await pgliteVersion()],
  ]);
  return { postgres: postgres !== null };
}

async function pgliteVersion(): Promise<string> {
  const pglite = await PGlite.create("memory://");
  try {
    const result = await pglite.query<{ server_version: string }>("SHOW server_version");
    return `PostgreSQL ${result.rows[0]?.server_version ?? "?"} in WebAssembly, in memory`;
  } finally {
    await pglite.close();
  }
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//…@");
}
