import { createHash, randomBytes } from "node:crypto";
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";

/**
 * What a PGlite folder's lock file says about the process holding the folder. PGlite is
 * PostgreSQL inside one process: a second process opening the same folder corrupts it (a lost
 * checkpoint, acknowledged writes gone), so a folder is opened by one process at a time.
 */
const holderSchema = z.object({
  pid: z.number().int().positive(),
  /** What it runs, e.g. `meterline start`. */
  command: z.string(),
  /** Where it serves the API, when it is a server. */
  url: z.string().nullable(),
  started_at: z.string(),
  /** Linux's boot and the process's start, which tell a reused pid from the holder. */
  boot_id: z.string().nullable(),
  process_start: z.string().nullable(),
  /** Unique to this hold: the same pid in another life (a container's pid 1) is not the holder. */
  token: z.string().min(1),
});

export type DataDirHolder = z.infer<typeof holderSchema>;

/** How the opening process describes itself to whoever finds the folder in use. */
export interface DataDirOpener {
  command?: string;
  /** Where it will serve the API, when it is a server. */
  url?: string | null;
}

export interface DataDirLock {
  file: string;
  /** Removes the lock file; also done when the process exits without it. */
  release(): void;
}

export class DataDirInUse extends Error {
  readonly lockFile: string;
  /** Null when the holder is gone but another process's takeover of its lock never finished. */
  readonly holder: DataDirHolder | null;

  constructor(lockFile: string, holder: DataDirHolder | null) {
    const dataDir = lockFile.slice(0, -LOCK_SUFFIX.length);
    super(
      holder
        ? `the PGlite folder ${dataDir} is in use by pid ${holder.pid} (${holder.command}, since ${holder.started_at}${holder.url ? `, serving ${holder.url}` : ""}): only one process may open it at a time`
        : `the lock ${lockFile} names a process that is gone, and another process has been taking it over for ${(TAKEOVER_ATTEMPTS * TAKEOVER_PAUSE_MS) / 1000} s without finishing: if no Meterline process uses ${dataDir}, delete ${lockFile} and ${lockFile}.*.stale`,
    );
    this.name = "DataDirInUse";
    this.lockFile = lockFile;
    this.holder = holder;
  }
}

const LOCK_SUFFIX = ".lock";
const TAKEOVER_ATTEMPTS = 40;
const TAKEOVER_PAUSE_MS = 50;

/** Tokens of the locks this process holds. */
const held = new Set<string>();

/**
 * Takes the lock of a PGlite folder, `<dataDir>.lock` beside it, before PGlite opens it, or
 * throws `DataDirInUse` naming the live holder, having written nothing. A lock whose process is
 * gone (killed, crashed, or from before a reboot) is taken over.
 *
 * The lock file only ever appears whole and only by `link`, which fails when the name exists,
 * so of processes finding the folder free exactly one gets it. A stale lock is removed only by
 * the one process that links it under a name derived from its content (see `removeStale`).
 */
export async function lockDataDir({
  dataDir,
  command = thisCommand(),
  url = null,
}: { dataDir: string } & DataDirOpener): Promise<DataDirLock> {
  const file = `${dataDir}${LOCK_SUFFIX}`;
  mkdirSync(path.dirname(file), { recursive: true });
  const self: DataDirHolder = {
    pid: process.pid,
    command: command.slice(0, 200),
    url,
    started_at: new Date().toISOString(),
    boot_id: bootId(),
    process_start: processStart(process.pid),
    token: randomBytes(12).toString("hex"),
  };
  const text = `${JSON.stringify(self, null, 2)}\n`;
  let draft: string | null = null;
  try {
    for (let attempt = 0; attempt < TAKEOVER_ATTEMPTS; attempt++) {
      const seen = readIfExists(file);
      if (seen === null) {
        if (!draft) {
          draft = `${file}.${self.token}.new`;
          writeFileSync(draft, text, { flag: "wx" });
        }
        if (linkUnlessExists(draft, file)) return hold({ file, token: self.token, text });
        continue;
      }
      const holder = parseHolder(seen);
      if (holder && isAlive(holder)) throw new DataDirInUse(file, holder);
      if (!removeStale({ file, seen })) await sleep(TAKEOVER_PAUSE_MS);
    }
    throw new DataDirInUse(file, null);
  } finally {
    if (draft) unlinkIfExists(draft);
  }
}

function hold({ file, token, text }: { file: string; token: string; text: string }): DataDirLock {
  held.add(token);
  const release = () => {
    if (!held.delete(token)) return;
    process.off("exit", release);
    // Only this process removes its own live lock, so reading first is no race.
    if (readIfExists(file) === text) unlinkIfExists(file);
  };
  // A process ending without closing its database leaves nothing to take over.
  process.on("exit", release);
  return { file, release };
}

/**
 * Removes the lock file if it still holds `seen`, whose holder is gone. Only the process that
 * links the lock to a name derived from `seen` may remove it: two processes taking over one
 * stale lock cannot both remove it, and neither can remove a lock a third one took meanwhile
 * (that lock's content differs). False when another process is taking it over right now.
 */
export function removeStale({ file, seen }: { file: string; seen: string }): boolean {
  const claim = `${file}.${createHash("sha256").update(seen).digest("hex").slice(0, 16)}.stale`;
  try {
    linkSync(file, claim);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return true;
    if (code === "EEXIST") return false;
    throw error;
  }
  try {
    // The claim is the lock as it was when linked; the lock cannot change while claimed.
    if (readIfExists(claim) === seen) unlinkIfExists(file);
  } finally {
    unlinkIfExists(claim);
  }
  return true;
}

function isAlive(holder: DataDirHolder): boolean {
  if (holder.pid === process.pid) return held.has(holder.token);
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    // EPERM: it exists, run by another user.
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
  }
  // The pid may have been given to another process since: after a reboot, or later on.
  const boot = bootId();
  if (holder.boot_id && boot && holder.boot_id !== boot) return false;
  const started = processStart(holder.pid);
  return !(holder.process_start && started && holder.process_start !== started);
}

function parseHolder(text: string): DataDirHolder | null {
  try {
    return holderSchema.parse(JSON.parse(text));
  } catch {
    // Not a lock this code wrote whole (it only ever links a finished file): nobody's.
    return null;
  }
}

function linkUnlessExists(from: string, to: string): boolean {
  try {
    linkSync(from, to);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
}

function readIfExists(file: string): string | null {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

function unlinkIfExists(file: string): void {
  try {
    unlinkSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}

function thisCommand(): string {
  const [, script = "node", ...args] = process.argv;
  return [path.basename(script), ...args].join(" ");
}

/** Linux: this boot's id; null elsewhere. */
function bootId(): string | null {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return null;
  }
}

/** Linux: when the process started, in clock ticks since boot; null elsewhere or when gone. */
function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name in parentheses may hold spaces; field 22, the start, counts from after it.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}
