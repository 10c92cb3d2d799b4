import { parseArgs } from "node:util";
import { loadConfig } from "../../config.js";
import type { Db } from "../../db/client.js";
import { migrate } from "../../db/migrate.js";
import { getOrg } from "../../services/accounts/orgDirectory.js";
import { MAX_BATCH, recordUsage } from "../../services/usage/recordUsage.js";
import { CommandFailure, openCommandDatabase, UsageError } from "../command.js";
import { formatOf, openSource, readRecords } from "../usageFile.js";

/** Rejections kept for the summary; the rest are only counted, so memory stays bounded. */
const SHOWN_REJECTIONS = 20;

export async function importUsage(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: { org: { type: "string" }, format: { type: "string" } },
    allowPositionals: true,
    strict: true,
  });
  const [file, ...extra] = positionals;
  if (!file) throw new UsageError("usage import needs a FILE (or - for NDJSON on stdin)");
  if (extra.length) throw new UsageError(`usage import takes one FILE; got ${positionals.join(" ")}`);
  if (values.org !== undefined && !values.org.trim()) throw new UsageError("--org must not be empty");
  const format = formatOf(file, values.format);

  // The file is opened before the database, so a wrong path fails fast and says so.
  const source = await openSource(file);
  let db: Db;
  try {
    db = await openCommandDatabase(
      loadConfig(),
      (url) =>
        `Send the events to the server instead: POST ${url}/v1/usage/events {"events":[…]}, up to ${MAX_BATCH} a request, with a key holding usage:write.`,
    );
  } catch (error) {
    source.close();
    throw error;
  }
  try {
    await migrate({ db });
    const orgId = values.org ?? null;
    if (orgId) await getOrg({ db: db.kysely, orgId });
    const progress = importProgress({ totalBytes: source.size, bytesRead: source.bytesRead });
    const totals = { accepted: 0, duplicates: 0, rejected: 0 };
    const shown: { line: number; code: string; message: string }[] = [];
    // A batch's rejections arrive after later lines' parse errors: keep the earliest lines.
    const reject = (line: number, code: string, message: string) => {
      totals.rejected += 1;
      if (shown.length === SHOWN_REJECTIONS && line > (shown.at(-1)?.line ?? 0)) return;
      shown.push({ line, code, message });
      shown.sort((a, b) => a.line - b.line);
      if (shown.length > SHOWN_REJECTIONS) shown.pop();
    };
    let batch: { line: number; event: unknown }[] = [];
    const send = async () => {
      if (!batch.length) return;
      const result = await recordUsage({
        db: db.kysely,
        keyOrgId: orgId,
        events: batch.map((item) => item.event),
        now: new Date(),
      });
      totals.accepted += result.accepted;
      totals.duplicates += result.duplicates;
      for (const { index, code, message } of result.rejected) {
        const item = batch[index];
        // The service words this for an API key; here the operator chose the org with --org.
        const eventOrg = (item?.event as { org_id?: unknown } | undefined)?.org_id;
        const text =
          code === "unknown_org"
            ? orgId && eventOrg !== orgId
              ? `organization ${String(eventOrg)} is not ${orgId}, the one given by --org`
              : `organization ${String(eventOrg)} not found`
            : withoutBatchIndex(message);
        reject(item?.line ?? 0, code, text);
      }
      progress.batchDone(batch.length);
      batch = [];
    };
    try {
      // Awaiting each full batch before pulling more lines keeps memory bounded: readline
      // pauses the stream while its consumer is busy.
      for await (const record of readRecords(source.stream, format)) {
        if ("error" in record) {
          reject(record.line, "invalid_event", record.error);
          progress.lineSkipped();
          continue;
        }
        batch.push(record);
        if (batch.length === MAX_BATCH) await send();
      }
      await send();
    } catch (error) {
      if (error === source.readError())
        throw new CommandFailure(`cannot read ${file}: ${(error as Error).message}`);
      throw error;
    } finally {
      progress.done();
    }

    const lines = [
      `accepted ${totals.accepted}, duplicates ${totals.duplicates}, rejected ${totals.rejected}`,
    ];
    for (const { line, code, message } of shown) lines.push(`line ${line}: ${code}: ${message}`);
    if (totals.rejected > shown.length) lines.push(`… and ${totals.rejected - shown.length} more`);
    process.stdout.write(`${lines.join("\n")}\n`);
    if (totals.rejected > 0 && totals.accepted + totals.duplicates === 0) {
      throw new CommandFailure(`every event in ${file === "-" ? "stdin" : file} was rejected`);
    }
  } finally {
    source.close();
    await db.close();
  }
}

/** The service numbers a rejection by its place in the batch; the summary gives the file's line. */
function withoutBatchIndex(message: string): string {
  return message.replace(/events\[\d+\](?:\.|: )/g, "");
}

/** Progress on stderr: a live bar on a terminal, else a plain line every 10 batches. */
function importProgress({
  totalBytes,
  bytesRead,
}: {
  totalBytes: number | null;
  bytesRead: () => number | null;
}) {
  const tty = process.stderr.isTTY;
  const started = Date.now();
  let events = 0;
  let batches = 0;
  let drawn = 0;
  const count = (n: number) => n.toLocaleString("en-US");
  const rate = () => {
    const seconds = (Date.now() - started) / 1000;
    return seconds > 0 ? Math.round(events / seconds) : 0;
  };
  const draw = () => {
    const read = bytesRead();
    let bar = "";
    if (totalBytes && read !== null) {
      const share = Math.min(1, read / totalBytes);
      const width = 24;
      const filled = Math.round(share * width);
      bar = `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${Math.floor(share * 100)}%  `;
    }
    process.stderr.write(`\r\x1b[K${bar}${count(events)} events  ${count(rate())} events/s`);
    drawn = Date.now();
  };
  return {
    lineSkipped() {
      events += 1;
    },
    batchDone(size: number) {
      events += size;
      batches += 1;
      if (tty) {
        if (Date.now() - drawn >= 100) draw();
      } else if (batches % 10 === 0) {
        process.stderr.write(`usage import: ${count(events)} events, ${count(rate())} events/s\n`);
      }
    },
    done() {
      if (tty && drawn) process.stderr.write("\r\x1b[K");
    },
  };
}
