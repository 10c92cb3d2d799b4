import { execFile, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { freePort } from "../../src/freePort.js";

const run = promisify(execFile);

/** Where Debian and Ubuntu put the PostgreSQL 15 server programs. */
export const PG_BIN = "/usr/lib/postgresql/15/bin";

export type ClusterSupport = { ok: true; owner: string } | { ok: false; reason: string };

/**
 * Whether this process can run a PostgreSQL cluster of its own, which it may then crash at will:
 * initdb refuses to run as root, so under root the cluster belongs to the postgres OS user.
 */
export function privateClusterSupport(): ClusterSupport {
  for (const program of ["initdb", "pg_ctl"]) {
    if (!existsSync(path.join(PG_BIN, program)))
      return { ok: false, reason: `${path.join(PG_BIN, program)} is not installed` };
  }
  const me = userInfo().username;
  if (me === "postgres") return { ok: true, owner: me };
  if (process.getuid?.() !== 0) {
    return {
      ok: false,
      reason: `running as ${me}, who cannot switch to the postgres OS user that initdb and pg_ctl need`,
    };
  }
  if (spawnSync("id", ["-u", "postgres"]).status !== 0)
    return { ok: false, reason: "running as root and there is no postgres OS user to own a cluster" };
  if (spawnSync("runuser", ["--help"]).error)
    return { ok: false, reason: "running as root without runuser to switch to the postgres OS user" };
  return { ok: true, owner: "postgres" };
}

/**
 * A throwaway PostgreSQL 15 cluster in a temporary folder, on a free port, trust
 * authentication, its socket in that folder: nothing shared with another suite, so it can be
 * stopped the hard way (`pg_ctl stop -m immediate`, which is a crash: recovery replays the WAL
 * on the next start).
 */
export class PrivateCluster {
  readonly dir: string;
  readonly port: number;
  readonly #owner: string;
  #removed = false;
  readonly #onExit = () => this.#stopSync();

  private constructor({ dir, port, owner }: { dir: string; port: number; owner: string }) {
    this.dir = dir;
    this.port = port;
    this.#owner = owner;
    // If the test process ends without its afterAll, the server must not outlive it.
    process.once("exit", this.#onExit);
  }

  static async create(owner: string): Promise<PrivateCluster> {
    const dir = mkdtempSync(path.join(tmpdir(), "meterline-crash-pg-"));
    if (owner !== userInfo().username) {
      const uid = Number(spawnSync("id", ["-u", owner], { encoding: "utf8" }).stdout.trim());
      const gid = Number(spawnSync("id", ["-g", owner], { encoding: "utf8" }).stdout.trim());
      chownSync(dir, uid, gid);
    }
    const cluster = new PrivateCluster({ dir, port: await freePort(), owner });
    try {
      await cluster.#run("initdb", ["-D", cluster.dataDir, "-A", "trust", "-U", "postgres", "-E", "UTF8"]);
      await cluster.start();
      const admin = new pg.Client({ connectionString: cluster.url("postgres") });
      await admin.connect();
      try {
        await admin.query("CREATE DATABASE meterline");
      } finally {
        await admin.end();
      }
      return cluster;
    } catch (error) {
      await cluster.destroy();
      throw error;
    }
  }

  get dataDir(): string {
    return path.join(this.dir, "data");
  }

  url(database = "meterline"): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  async start(): Promise<void> {
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c max_connections=60`;
    await this.#run("pg_ctl", [
      "-D",
      this.dataDir,
      "-l",
      this.logFile,
      "-w",
      "-t",
      "120",
      "-o",
      options,
      "start",
    ]);
  }

  /** The abrupt stop: every backend is killed at once, nothing is checkpointed. */
  async crash(): Promise<void> {
    await this.#run("pg_ctl", ["-D", this.dataDir, "-m", "immediate", "-w", "stop"]);
  }

  get logFile(): string {
    return path.join(this.dir, "postgres.log");
  }

  log(): string {
    try {
      return readFileSync(this.logFile, "utf8").slice(-10_000);
    } catch {
      return "";
    }
  }

  /** Stops the server (fast, else immediate) and deletes every file of the cluster. */
  async destroy(): Promise<void> {
    if (this.#removed) return;
    this.#removed = true;
    process.removeListener("exit", this.#onExit);
    if (existsSync(path.join(this.dataDir, "postmaster.pid"))) {
      await this.#run("pg_ctl", ["-D", this.dataDir, "-m", "fast", "-w", "-t", "60", "stop"]).catch(() =>
        this.#run("pg_ctl", ["-D", this.dataDir, "-m", "immediate", "-w", "stop"]).catch(() => {}),
      );
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  #stopSync(): void {
    if (this.#removed) return;
    spawnSync(...this.#command("pg_ctl", ["-D", this.dataDir, "-m", "immediate", "-w", "stop"]));
    rmSync(this.dir, { recursive: true, force: true });
  }

  #command(program: string, args: string[]): [string, string[]] {
    const file = path.join(PG_BIN, program);
    return this.#owner === userInfo().username
      ? [file, args]
      : ["runuser", ["-u", this.#owner, "--", file, ...args]];
  }

  async #run(program: string, args: string[]): Promise<void> {
    const [file, fileArgs] = this.#command(program, args);
    try {
      await run(file, fileArgs, { cwd: this.dir, timeout: 180_000 });
    } catch (error) {
      const failure = error as Error & { stdout?: string; stderr?: string };
      throw new Error(
        `${program} ${args.join(" ")} failed: ${failure.message}\n${failure.stdout ?? ""}${failure.stderr ?? ""}\n` +
          this.log(),
      );
    }
  }
}
