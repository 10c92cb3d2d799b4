import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import type { Database } from "../src/config.js";
import { type Db, openDatabase } from "../src/db/client.js";
import { migrate } from "../src/db/migrate.js";
import { createApiKey } from "../src/services/accounts/apiKeys.js";
import { createOrg } from "../src/services/accounts/createOrg.js";
import { signUp } from "../src/services/accounts/signUp.js";
import { ServerProcess } from "./reliability/serverProcess.js";
import { runCli } from "./support/cli.js";
import { availableEngines, createTestDatabase } from "./support/databases.js";

/**
 * PGlite is PostgreSQL inside one process: a second process opening a server's data folder
 * corrupts it. These run the real `meterline` binary against a folder a real server holds.
 */

const engines = await availableEngines();
const STARTUP_MS = 120_000;
/** Racers try a fresh folder every RACE_SPACING_MS, so some rounds find them truly side by side. */
const RACE_ROUNDS = 30;
const RACE_SPACING_MS = 20;

interface Folder {
  dir: string;
  env: Record<string, string>;
  database: Database;
  lockFile: string;
  orgId: string;
  key: string;
}

const folders: string[] = [];
afterEach(() => {
  for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A data folder holding an organization and its usage key, made before any server holds it. */
async function prepareFolder(): Promise<Folder> {
  const dir = mkdtempSync(path.join(tmpdir(), "meterline-lock-"));
  folders.push(dir);
  const database: Database = { engine: "pglite", dataDir: path.join(dir, "pglite") };
  return withDb(database, async (db) => {
    await migrate({ db });
    const now = new Date();
    const { user } = await signUp({
      db: db.kysely,
      email: "lock@example.test",
      password: "correct horse battery staple",
      name: "Lock",
      now,
    });
    const org = await createOrg({ db: db.kysely, owner: user, name: "Acme", trialDays: 15, now });
    const { key } = await createApiKey({
      db: db.kysely,
      orgId: org.id,
      name: "usage",
      scopes: ["usage:write"],
      createdBy: null,
      now,
    });
    return {
      dir,
      env: { DATA_DIR: dir },
      database,
      lockFile: `${database.dataDir}.lock`,
      orgId: org.id,
      key,
    };
  });
}

async function withDb<T>(database: Database, work: (db: Db) => Promise<T>): Promise<T> {
  const db = await openDatabase(database);
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}

/** One MAU event per number, stamped now: keep them to send the same payloads again. */
function events(orgId: string, numbers: number[]) {
  const timestamp = new Date().toISOString();
  return numbers.map((n) => ({
    id: `lock-${n}`,
    org_id: orgId,
    app_id: "app",
    metric: "mau",
    device_id: `device-${n}`,
    timestamp,
  }));
}

async function send(url: string, key: string, batch: unknown[]): Promise<unknown> {
  const response = await fetch(`${url}/v1/usage/events`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ events: batch }),
  });
  expect(response.status).toBe(200);
  return response.json();
}

describe("one process per PGlite folder", () => {
  it("refuses CLI commands on a running server's folder, writing nothing; the server keeps its writes", async () => {
    const folder = await prepareFolder();
    const [first, second, imported] = events(folder.orgId, [1, 2, 3]);
    const file = path.join(folder.dir, "events.ndjson");
    writeFileSync(file, `${JSON.stringify(imported)}\n`);

    const server = new ServerProcess(folder.env);
    try {
      const url = await server.ready(STARTUP_MS);
      const served = url.replace("127.0.0.1", "localhost");
      expect(await send(url, folder.key, [first])).toMatchObject({ accepted: 1 });

      const { orgId } = folder;
      const commands = [
        { args: ["usage", "show", orgId], instead: `GET ${served}/v1/orgs/${orgId}/usage` },
        { args: ["usage", "import", file], instead: `POST ${served}/v1/usage/events` },
        {
          args: ["credits", "grant", orgId, "5", "--note", "goodwill"],
          instead: `POST ${served}/v1/admin/orgs/${orgId}/credits/grants {"amount":"5.000000","note":"goodwill"}`,
        },
        { args: ["credits", "expire"], instead: "every ten minutes" },
        {
          args: ["keys", "create", "--org", orgId, "--scopes", "usage:write"],
          instead: `POST ${served}/v1/orgs/${orgId}/api-keys`,
        },
        { args: ["mail", "list"], instead: `GET ${served}/v1/orgs/ORG/emails` },
        { args: ["migrate"], instead: "restart it" },
      ];
      const results = await Promise.all(commands.map(({ args }) => runCli(args, folder.env)));
      for (const [index, { args, instead }] of commands.entries()) {
        const result = results[index];
        const context = `meterline ${args.join(" ")}: ${result?.stderr}`;
        expect(result?.code, context).toBe(1);
        expect(result?.stdout, context).toBe("");
        expect(result?.stderr, context).toContain(`is in use by pid ${server.pid} (meterline start, since `);
        expect(result?.stderr, context).toContain(`serving ${served}`);
        expect(result?.stderr, context).toContain(instead);
        expect(result?.stderr, context).toContain(`kill ${server.pid}`);
      }
      expect(JSON.parse(readFileSync(folder.lockFile, "utf8"))).toMatchObject({ pid: server.pid });

      await server.healthy(10_000);
      expect(await send(url, folder.key, [second])).toMatchObject({ accepted: 1 });
    } finally {
      await server.stop();
    }
    expect(existsSync(folder.lockFile)).toBe(false);

    const restarted = new ServerProcess(folder.env);
    try {
      const url = await restarted.ready(STARTUP_MS);
      expect(await send(url, folder.key, [first, second])).toMatchObject({ accepted: 0, duplicates: 2 });
    } finally {
      await restarted.stop();
    }
    // The refused commands left no trace: no grant, key or imported event.
    await withDb(folder.database, async (db) => {
      const count = async (table: string) =>
        Number(
          (await sql<{ n: string }>`SELECT count(*)::text AS n FROM ${sql.table(table)}`.execute(db.kysely))
            .rows[0]?.n,
        );
      expect(await count("usage_events")).toBe(2);
      expect(await count("credit_entries")).toBe(0);
      expect(await count("api_keys")).toBe(1);
    });
  }, 300_000);

  it("refuses a second server on the folder; the first keeps serving", async () => {
    const folder = await prepareFolder();
    const server = new ServerProcess(folder.env);
    try {
      const url = await server.ready(STARTUP_MS);
      const second = new ServerProcess(folder.env);
      const { code } = await second.exited;
      expect(code, second.output()).toBe(1);
      expect(second.output()).toContain(`is in use by pid ${server.pid} (meterline start`);
      expect(second.output()).toContain("Meterline already serves this folder at");
      await server.healthy(10_000);
      expect(await send(url, folder.key, events(folder.orgId, [1]))).toMatchObject({ accepted: 1 });
    } finally {
      await server.stop();
    }
  }, 300_000);

  it("takes over the lock of a server killed with SIGKILL; acknowledged writes survive", async () => {
    const folder = await prepareFolder();
    const sent = events(folder.orgId, [1, 2, 3]);
    const killed = new ServerProcess(folder.env);
    try {
      const url = await killed.ready(STARTUP_MS);
      expect(await send(url, folder.key, sent)).toMatchObject({ accepted: 3 });
    } finally {
      await killed.kill();
    }
    expect(JSON.parse(readFileSync(folder.lockFile, "utf8"))).toMatchObject({ pid: killed.pid });

    // A start takes the lock over, and so does a command after the next kill.
    const restarted = new ServerProcess(folder.env);
    try {
      const url = await restarted.ready(STARTUP_MS);
      expect(await send(url, folder.key, sent)).toMatchObject({ accepted: 0, duplicates: 3 });
    } finally {
      await restarted.kill();
    }
    const shown = await runCli(["usage", "show", folder.orgId, "--json"], folder.env);
    expect(shown.code, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ metrics: { mau: { used: 3 } } });
    expect(existsSync(folder.lockFile)).toBe(false);
  }, 300_000);

  it.each(["free", "stale"])(
    "lets exactly one of racing processes take a %s lock, round after round",
    async (state) => {
      const dir = mkdtempSync(path.join(tmpdir(), "meterline-lock-race-"));
      folders.push(dir);
      const lockFile = (round: number) => path.join(dir, String(round), "pglite.lock");
      if (state === "stale") {
        const gone = spawnSync(process.execPath, ["-e", ""]).pid;
        for (let round = 0; round < RACE_ROUNDS; round++) {
          mkdirSync(path.join(dir, String(round)));
          writeFileSync(
            lockFile(round),
            JSON.stringify({
              pid: gone,
              command: "meterline start",
              url: null,
              started_at: new Date().toISOString(),
              boot_id: null,
              process_start: null,
              token: "killed",
            }),
          );
        }
      }
      const racers = Array.from({ length: 3 }, () => new Racer(dir));
      try {
        await Promise.all(racers.map((racer) => racer.line()));
        const go = `go ${Date.now() + 300} ${RACE_SPACING_MS}\n`;
        for (const racer of racers) racer.child.stdin.write(go);
        for (let round = 0; round < RACE_ROUNDS; round++) {
          const outcomes = await Promise.all(racers.map((racer) => racer.line()));
          const winners = racers.filter((_, index) => outcomes[index] === `${round} won`);
          expect(winners, `round ${round}: ${outcomes.join(", ")}`).toHaveLength(1);
          const winner = winners[0]?.child.pid;
          expect(outcomes.filter((outcome) => outcome === `${round} lost ${winner}`)).toHaveLength(
            racers.length - 1,
          );
          expect(JSON.parse(readFileSync(lockFile(round), "utf8"))).toMatchObject({ pid: winner });
        }
      } finally {
        await Promise.all(racers.map((racer) => racer.end()));
      }
      for (let round = 0; round < RACE_ROUNDS; round++) expect(existsSync(lockFile(round))).toBe(false);
    },
    120_000,
  );
});

/** A process racing others for folders' locks (`support/takeDataDirLock.ts`). */
class Racer {
  readonly child: ChildProcessWithoutNullStreams;
  #lines: string[] = [];
  #waiting: ((line: string) => void)[] = [];

  constructor(dir: string) {
    this.child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        path.join(import.meta.dirname, "support/takeDataDirLock.ts"),
        dir,
        String(RACE_ROUNDS),
      ],
      { stdio: "pipe" },
    );
    let buffer = "";
    this.child.stdout.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      for (let end = buffer.indexOf("\n"); end >= 0; end = buffer.indexOf("\n")) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 1);
        const waiter = this.#waiting.shift();
        if (waiter) waiter(line);
        else this.#lines.push(line);
      }
    });
  }

  /** Its next line of output. */
  line(): Promise<string> {
    const next = this.#lines.shift();
    if (next !== undefined) return Promise.resolve(next);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  end(): Promise<void> {
    if (this.child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once("exit", () => resolve());
      this.child.stdin.end();
    });
  }
}

describe.runIf(engines.includes("postgres"))("a data folder beside PostgreSQL", () => {
  it("holds no lock: a command runs beside a server sharing DATA_DIR", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "meterline-lock-pg-"));
    folders.push(dir);
    const database = await createTestDatabase("postgres", { migrated: false });
    const url = database.config.engine === "postgres" ? database.config.url : "";
    const env = { DATA_DIR: dir, DATABASE_URL: url };
    const server = new ServerProcess(env);
    try {
      await server.ready(STARTUP_MS);
      const listed = await runCli(["mail", "list"], env);
      expect(listed.code, listed.stderr).toBe(0);
      await server.healthy(10_000);
    } finally {
      await server.stop();
      await database.drop();
    }
  }, 300_000);
});
