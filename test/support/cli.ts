import { spawn } from "node:child_process";
import path from "node:path";

/** The package's `meterline` command, as `npx meterline` runs it. */
export const bin = path.resolve(import.meta.dirname, "../../bin/meterline.js");

/** Runs `meterline ARGS` to its end with `env` added to this process's environment. */
export function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, stdio: "pipe" });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
