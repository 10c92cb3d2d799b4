import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { type Browser, chromium } from "playwright-core";

const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Whether browser suites can run; under CI=true a missing Chromium fails the run instead. */
export function chromiumAvailable(): boolean {
  if (existsSync(executablePath)) return true;
  if (process.env.CI === "true")
    throw new Error(`Chromium is required in CI and missing at ${executablePath}`);
  return false;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}

/** Where screenshots go (ignored by git). */
export function screenshotPath(name: string): string {
  const dir = path.resolve(import.meta.dirname, "../../test-results");
  mkdirSync(dir, { recursive: true });
  return path.join(dir, `${name}.png`);
}
