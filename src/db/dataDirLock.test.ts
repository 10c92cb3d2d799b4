import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDatabase } from "./client.js";
import { DataDirInUse, lockDataDir, removeStale } from "./dataDirLock.js";

const linux = existsSync("/proc/self/stat");

/** A pid no process has: that of a child that has exited. */
const gonePid = (): number => spawnSync(process.execPath, ["-e", ""]).pid ?? 0;

const lockOf = (overrides: Record<string, unknown>) =>
  JSON.stringify({
    pid: process.ppid,
    command: "meterline start",
    url: "http://localhost:8080",
    started_at: "2026-01-01T00:00:00.000Z",
    boot_id: null,
    process_start: null,
    token: "earlier",
    ...overrides,
  });

let dir: string;
let dataDir: string;
let lockFile: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "meterline-lock-"));
  dataDir = path.join(dir, "pglite");
  lockFile = `${dataDir}.lock`;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("lockDataDir", () => {
  it("writes who holds the folder, refuses a second holder, and frees the folder on release", async () => {
    const lock = await lockDataDir({ dataDir, command: "meterline start", url: "http://localhost:8080" });
    expect(lock.file).toBe(lockFile);
    expect(JSON.parse(readFileSync(lockFile, "utf8"))).toMatchObject({
      pid: process.pid,
      command: "meterline start",
      url: "http://localhost:8080",
    });
    const before = readFileSync(lockFile, "utf8");

    const refused = await lockDataDir({ dataDir, command: "meterline usage show" }).catch((error) => error);
    expect(refused).toBeInstanceOf(DataDirInUse);
    expect(refused.holder).toMatchObject({ pid: process.pid, url: "http://localhost:8080" });
    expect(refused.message).toContain(`in use by pid ${process.pid} (meterline start, since `);
    // The refused attempt wrote nothing.
    expect(readFileSync(lockFile, "utf8")).toBe(before);
    expect(readdirSync(dir)).toEqual(["pglite.lock"]);

    lock.release();
    expect(existsSync(lockFile)).toBe(false);
    const again = await lockDataDir({ dataDir });
    again.release();
  });

  it.each(
    [
      { name: "its process is gone", lock: () => lockOf({ pid: gonePid() }), linuxOnly: false },
      {
        name: "this pid in an earlier life (a restarted container's pid 1)",
        lock: () => lockOf({ pid: process.pid }),
        linuxOnly: false,
      },
      {
        name: "written before a reboot, its pid now another process's",
        lock: () => lockOf({ boot_id: "an-earlier-boot" }),
        linuxOnly: true,
      },
      {
        name: "its pid reused by a process started later",
        lock: () => lockOf({ process_start: "1" }),
        linuxOnly: true,
      },
      { name: "not a lock file", lock: () => "{ half", linuxOnly: false },
      { name: "empty", lock: () => "", linuxOnly: false },
    ].filter((row) => linux || !row.linuxOnly),
  )("takes over a lock whose holder is gone: $name", async ({ lock }) => {
    writeFileSync(lockFile, lock());
    const taken = await lockDataDir({ dataDir, command: "meterline start" });
    expect(JSON.parse(readFileSync(lockFile, "utf8"))).toMatchObject({ pid: process.pid });
    // Nothing of the takeover is left beside the lock.
    expect(readdirSync(dir)).toEqual(["pglite.lock"]);
    taken.release();
  });

  it("respects a live process's lock, even without the identity Linux adds", async () => {
    writeFileSync(lockFile, lockOf({ pid: process.ppid }));
    const refused = await lockDataDir({ dataDir }).catch((error) => error);
    expect(refused).toBeInstanceOf(DataDirInUse);
    expect(refused.holder.pid).toBe(process.ppid);
  });

  it("never removes a lock taken since it was found stale", async () => {
    const stale = lockOf({ pid: gonePid() });
    writeFileSync(lockFile, stale);
    // Another process removes the stale lock and takes the folder between this one's read and
    // its removal.
    rmSync(lockFile);
    const lock = await lockDataDir({ dataDir });
    const taken = readFileSync(lockFile, "utf8");
    expect(removeStale({ file: lockFile, seen: stale })).toBe(true);
    expect(readFileSync(lockFile, "utf8")).toBe(taken);
    expect(readdirSync(dir)).toEqual(["pglite.lock"]);
    lock.release();
  });

  it("says what to delete when a takeover of a stale lock was cut short", async () => {
    const stale = lockOf({ pid: gonePid() });
    writeFileSync(lockFile, stale);
    // What a process killed between claiming the stale lock and removing it leaves behind.
    const claim = `${lockFile}.${createHash("sha256").update(stale).digest("hex").slice(0, 16)}.stale`;
    writeFileSync(claim, stale);

    const refused = await lockDataDir({ dataDir }).catch((error) => error);
    expect(refused).toBeInstanceOf(DataDirInUse);
    expect(refused.holder).toBeNull();
    expect(refused.message).toContain(`delete ${lockFile} and ${lockFile}.*.stale`);
    expect(readFileSync(lockFile, "utf8")).toBe(stale);
  });
});

describe("openDatabase and the lock", () => {
  it("holds a PGlite folder while open, for no one else, and frees it on close", async () => {
    const db = await openDatabase({ engine: "pglite", dataDir }, { command: "meterline migrate" });
    try {
      expect(JSON.parse(readFileSync(lockFile, "utf8"))).toMatchObject({ command: "meterline migrate" });
      await expect(openDatabase({ engine: "pglite", dataDir })).rejects.toBeInstanceOf(DataDirInUse);
    } finally {
      await db.close();
    }
    expect(existsSync(lockFile)).toBe(false);
  });
});
