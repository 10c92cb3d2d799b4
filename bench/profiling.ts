import { mkdirSync } from "node:fs";
import path from "node:path";
import type { BenchServer } from "./serverProcess.js";

/**
 * Runs `work` (a measured phase) under the server's CPU profiler when BENCH_PROFILE_DIR is set,
 * writing `<dir>/<name>.cpuprofile` (open it in Chrome DevTools, or summarize it with
 * `npx tsx bench/profileSummary.ts <file>`). Without a directory it just runs `work`.
 */
export async function profiled<T>({
  server,
  profileDir,
  name,
  work,
}: {
  server: BenchServer;
  profileDir: string | null;
  name: string;
  work: () => Promise<T>;
}): Promise<T> {
  if (!profileDir) return work();
  mkdirSync(profileDir, { recursive: true });
  await server.call("profileStart", {});
  try {
    return await work();
  } finally {
    const file = path.resolve(profileDir, `${name}.cpuprofile`);
    await server.call("profileStop", { file });
    console.log(`  (server CPU profile: ${file})`);
  }
}
