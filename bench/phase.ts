import type { Database } from "../src/config.js";
import { measurePostgresCpu } from "./postgresCpu.js";
import type { BenchServer } from "./serverProcess.js";

/** CPU seconds spent over a measured phase by each party sharing the machine. */
export interface PhaseCpu {
  server: number;
  /** Null on PGlite, whose work is the server's, or a PostgreSQL on another machine. */
  postgres: number | null;
  loadGenerator: number;
}

/** Runs `work` and answers, with its result, the CPU the server, PostgreSQL and this process spent. */
export async function measurePhase<T>({
  server,
  database,
  work,
}: {
  server: BenchServer;
  database: Database;
  work: () => Promise<T>;
}): Promise<{ result: T; cpu: PhaseCpu }> {
  const serverBefore = await server.call("cpuSeconds", {});
  const clientBefore = process.cpuUsage();
  const { result, cpuSeconds } = await measurePostgresCpu({ database, work });
  const client = process.cpuUsage(clientBefore);
  const serverAfter = await server.call("cpuSeconds", {});
  return {
    result,
    cpu: {
      server: serverAfter - serverBefore,
      postgres: cpuSeconds,
      loadGenerator: (client.user + client.system) / 1e6,
    },
  };
}
