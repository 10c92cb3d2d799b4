import { type ChildProcess, spawn } from "node:child_process";
import { bin } from "../support/cli.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Variables of this process that would point the server elsewhere than the suite means. */
const inherited = (): Record<string, string> => {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    if (
      /^(DATABASE_URL|DATA_DIR|PORT|STRIPE_.*|SMTP_URL|CATALOG_FILE|PUBLIC_URL|LOG_LEVEL|NODE_ENV)$/.test(
        name,
      )
    )
      continue;
    env[name] = value;
  }
  return env;
};

/**
 * One run of `meterline start` as a child process: the real binary, the real start path
 * (migrations, workers, the local Stripe emulator), on a port of its own choosing.
 */
export class ServerProcess {
  readonly child: ChildProcess;
  /** Where it listens, once it printed its banner. */
  readonly url: Promise<string>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #output = "";
  #listening = false;
  #stopped = false;

  constructor(env: Record<string, string>) {
    this.child = spawn(process.execPath, [bin, "start"], {
      env: { ...inherited(), PORT: "0", LOG_LEVEL: "warn", NODE_ENV: "test", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const keep = (chunk: Buffer) => {
      // The tail is what explains a failure; a long run must not hold every log line.
      this.#output = (this.#output + chunk.toString()).slice(-20_000);
    };
    this.child.stderr?.on("data", keep);
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => resolve({ code, signal }));
    });
    this.url = new Promise((resolve, reject) => {
      let banner = "";
      this.child.stdout?.on("data", (chunk: Buffer) => {
        keep(chunk);
        banner += chunk.toString();
        const match = /Meterline is running at (http:\/\/\S+)/.exec(banner);
        if (match?.[1] && banner.includes("health:")) {
          this.#listening = true;
          resolve(match[1].replace("localhost", "127.0.0.1"));
        }
      });
      void this.exited.then(({ code, signal }) =>
        reject(new Error(`meterline start exited (${signal ?? code}) before listening:\n${this.#output}`)),
      );
    });
    // Killing a server before it listens is part of the plan; nobody need wait for its URL then.
    this.url.catch(() => {});
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Whether it exited without being killed or stopped: it crashed. */
  get crashed(): boolean {
    return !this.running && !this.#stopped;
  }

  /** Whether it got as far as printing its banner (migrated, listening). */
  get listening(): boolean {
    return this.#listening;
  }

  output(): string {
    return this.#output;
  }

  /** Resolves once it listens and `GET /healthz` answers 200 (its database answers too). */
  async ready(timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const url = await Promise.race([
      this.url,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(new Error(`meterline start printed no banner within ${timeoutMs} ms:\n${this.#output}`)),
          timeoutMs,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    await this.healthy(deadline - Date.now());
    return url;
  }

  /** Polls `GET /healthz` until it answers 200; fails at once if the process is gone. */
  async healthy(timeoutMs: number): Promise<void> {
    const url = await this.url;
    const deadline = Date.now() + timeoutMs;
    let last = "no answer yet";
    while (Date.now() < deadline) {
      if (!this.running) {
        const { code, signal } = await this.exited;
        throw new Error(`meterline start exited (${signal ?? code}) while serving:\n${this.#output}`);
      }
      try {
        const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5_000) });
        if (response.status === 200) return;
        last = `${response.status} ${await response.text()}`;
      } catch (error) {
        last = (error as Error).message;
      }
      await sleep(100);
    }
    throw new Error(
      `${url}/healthz did not answer 200 within ${timeoutMs} ms (last: ${last})\n${this.#output}`,
    );
  }

  /** SIGKILL: no handler runs, nothing is flushed or closed. */
  async kill(): Promise<void> {
    this.#stopped = true;
    if (this.running) this.child.kill("SIGKILL");
    await this.exited;
  }

  /** SIGTERM and a clean close, or SIGKILL when it takes longer than `graceMs`. */
  async stop(graceMs = 30_000): Promise<void> {
    this.#stopped = true;
    if (!this.running) return;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
