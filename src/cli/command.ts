import type { Config } from "../config.js";
import { type Db, openDatabase } from "../db/client.js";
import { DataDirInUse } from "../db/dataDirLock.js";
import { plainText } from "../domain/text.js";

/** One command: its arguments after its name. */
export type Command = (args: string[]) => Promise<void>;

/** Bad usage: exit 2, with the usage text. */
export class UsageError extends Error {}

/** A name or note as the API takes it (no control nor bidirectional characters), else bad usage naming the flag. */
export function textFlag(flag: string, value: string, max: number): string {
  const parsed = plainText({ max }).safeParse(value);
  if (!parsed.success) throw new UsageError(`${flag} ${parsed.error.issues[0]?.message ?? "is not valid"}`);
  return parsed.data;
}

/** A command that ran but failed, already explained by its message: exit 1. */
export class CommandFailure extends Error {}

/**
 * The command's database. A PGlite folder opens in one process at a time: while another holds
 * it, the command reads and writes nothing, and says who holds it and how to go on.
 */
export async function openCommandDatabase(config: Config, instead: Instead): Promise<Db> {
  const command = ["meterline", ...process.argv.slice(2)].join(" ");
  return openDatabase(config.database, { command }).catch((error) => {
    throw inUse(error, instead);
  });
}

/** What the command's user can ask the server at `url` instead; null when nothing fits. */
export type Instead = ((url: string) => string) | null;

/** `error` as the command's failure when it is a folder in use, told with what to do instead. */
export function inUse(error: unknown, instead: Instead): unknown {
  if (!(error instanceof DataDirInUse)) return error;
  const { holder } = error;
  if (!holder) return new CommandFailure(error.message);
  const lines = [`${error.message}. Nothing was read or written.`];
  if (holder.url) {
    if (instead) lines.push(`  ${instead(holder.url)}`);
    lines.push(`  Or stop that server (Ctrl-C where it runs, or kill ${holder.pid}), then run this again.`);
  } else {
    lines.push("  Wait for that command to finish, then run this again.");
  }
  lines.push(
    "  Several processes can share a PostgreSQL database (DATABASE_URL), never a PGlite folder.",
    `  If pid ${holder.pid} is no Meterline process, delete ${error.lockFile}.`,
  );
  return new CommandFailure(lines.join("\n"));
}
