import path from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { DataDirInUse, type DataDirLock, lockDataDir } from "../../src/db/dataDirLock.js";

/**
 * `takeDataDirLock.ts DIR ROUNDS`: a process racing others for folders' locks. It prints `ready`;
 * the line `go AT SPACING` on its stdin starts the race: round r tries to take the lock of
 * DIR/r/pglite at the instant AT + r × SPACING (ms since the epoch), so that every racer tries
 * at once, and prints `r won` or `r lost PID` naming the holder. It holds what it won until its
 * stdin ends.
 */
const [dir = "", rounds = "1"] = process.argv.slice(2);
const input = createInterface({ input: process.stdin });
const locks: DataDirLock[] = [];
input.once("line", async (line) => {
  const [, at = "0", spacing = "0"] = line.split(" ");
  for (let round = 0; round < Number(rounds); round++) {
    const start = Number(at) + round * Number(spacing);
    await sleep(Math.max(0, start - Date.now() - 5));
    // The last milliseconds are spun, not slept: timers are too coarse to line racers up.
    while (Date.now() < start) {}
    try {
      locks.push(await lockDataDir({ dataDir: path.join(dir, String(round), "pglite"), command: "race" }));
      process.stdout.write(`${round} won\n`);
    } catch (error) {
      if (!(error instanceof DataDirInUse)) throw error;
      process.stdout.write(`${round} lost ${error.holder?.pid}\n`);
    }
  }
});
input.once("close", () => {
  for (const lock of locks) lock.release();
  process.exit(0);
});
process.stdout.write("ready\n");
