import { open } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { CommandFailure, UsageError } from "./command.js";

// Reading usage events from an NDJSON or CSV file, for `usage import`.

const eventFields = ["id", "org_id", "app_id", "metric", "timestamp", "device_id", "value"];
const requiredFields = ["id", "org_id", "app_id", "metric", "timestamp"];
const formats = { ".ndjson": "ndjson", ".jsonl": "ndjson", ".csv": "csv" } as const;
type Format = (typeof formats)[keyof typeof formats];

/** One record of the file: an event to send, or a line that could not be read as one. */
type SourceRecord = { line: number; event: unknown } | { line: number; error: string };

export function formatOf(file: string, given: string | undefined): Format {
  if (given !== undefined) {
    if (given === "ndjson" || given === "csv") return given;
    throw new UsageError(`--format must be ndjson or csv; got ${given}`);
  }
  if (file === "-") return "ndjson";
  const extension = path.extname(file).toLowerCase();
  const format = Object.hasOwn(formats, extension) ? formats[extension as keyof typeof formats] : undefined;
  if (!format) {
    throw new UsageError(
      `cannot tell the format of ${file}: name it .ndjson, .jsonl or .csv, or give --format ndjson|csv`,
    );
  }
  return format;
}

export async function openSource(file: string): Promise<{
  stream: Readable;
  size: number | null;
  bytesRead: () => number | null;
  /** The error the stream failed with, to tell a failed read from a failed write. */
  readError: () => unknown;
  close(): void;
}> {
  let readError: unknown = null;
  if (file === "-") {
    process.stdin.once("error", (error) => {
      readError = error;
    });
    return {
      stream: process.stdin,
      size: null,
      bytesRead: () => null,
      readError: () => readError,
      close() {},
    };
  }
  const reasons: Record<string, string> = {
    ENOENT: "no such file",
    EACCES: "permission denied",
    EISDIR: "it is a directory",
  };
  try {
    const handle = await open(file, "r");
    const info = await handle.stat();
    if (info.isDirectory()) {
      await handle.close();
      throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
    }
    const stream = handle.createReadStream();
    stream.once("error", (error) => {
      readError = error;
    });
    return {
      stream,
      size: info.isFile() ? info.size : null,
      bytesRead: () => stream.bytesRead,
      readError: () => readError,
      close: () => stream.destroy(),
    };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "";
    throw new CommandFailure(`cannot read ${file}: ${reasons[code] ?? (error as Error).message}`);
  }
}

/**
 * The file's events with their 1-based line numbers (a CSV header is line 1). Blank lines are
 * skipped; a line that is not JSON, or a malformed CSV row, becomes an error record and the
 * reading goes on. A CSV field in quotes may span lines; it is numbered by its first line.
 */
export async function* readRecords(stream: Readable, format: Format): AsyncGenerator<SourceRecord> {
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  let lineNumber = 0;
  let header: string[] | null = null;
  let pending: { line: number; text: string } | null = null;
  for await (const raw of lines) {
    lineNumber += 1;
    const text = lineNumber === 1 ? raw.replace(/^\uFEFF/, "") : raw;
    if (format === "ndjson") {
      if (!text.trim()) continue;
      try {
        yield { line: lineNumber, event: JSON.parse(text) };
      } catch (error) {
        yield { line: lineNumber, error: `not valid JSON: ${(error as Error).message}` };
      }
      continue;
    }
    if (pending) pending.text += `\n${text}`;
    else if (!text.trim()) continue;
    else pending = { line: lineNumber, text };
    const row = splitCsvRow(pending.text);
    if ("open" in row) {
      if (pending.text.length > MAX_CSV_ROW) {
        yield { line: pending.line, error: "malformed CSV row: a quoted field is never closed" };
        pending = null;
      }
      continue;
    }
    const { line } = pending;
    pending = null;
    if ("error" in row) {
      if (!header) throw new CommandFailure(`line ${line}: the CSV header is malformed: ${row.error}`);
      yield { line, error: `malformed CSV row: ${row.error}` };
      continue;
    }
    if (!header) {
      header = csvHeader(row.fields, line);
      continue;
    }
    if (row.fields.length !== header.length) {
      yield {
        line,
        error: `malformed CSV row: ${row.fields.length} fields where the header has ${header.length}`,
      };
      continue;
    }
    yield { line, event: csvEvent(header, row.fields) };
  }
  if (pending) yield { line: pending.line, error: "malformed CSV row: a quoted field is never closed" };
}

/** How long a quoted CSV field may run over several lines before the row is given up. */
const MAX_CSV_ROW = 1 << 20;

function csvHeader(fields: string[], line: number): string[] {
  const names = fields.map((field) => field.trim());
  const unknown = names.filter((name) => !eventFields.includes(name));
  const missing = requiredFields.filter((name) => !names.includes(name));
  const repeated = names.filter((name, index) => names.indexOf(name) !== index);
  const problems = [
    unknown.length ? `unknown column ${unknown.map((name) => `"${name}"`).join(", ")}` : "",
    missing.length ? `missing column ${missing.join(", ")}` : "",
    repeated.length ? `repeated column ${repeated.join(", ")}` : "",
  ].filter(Boolean);
  if (problems.length) {
    throw new CommandFailure(
      `line ${line}: the CSV header must name the event's fields (${eventFields.join(", ")}): ${problems.join("; ")}`,
    );
  }
  return names;
}

/**
 * A CSV row as the event object the API takes: empty cells are absent, and `value` becomes a
 * number (an integer string as it stands, which the event schema takes exactly, even past 2^53).
 */
function csvEvent(header: string[], fields: string[]): Record<string, unknown> {
  const event: Record<string, unknown> = {};
  for (const [index, name] of header.entries()) {
    const cell = fields[index] ?? "";
    if (cell === "") continue;
    if (name === "value" && !/^\d+$/.test(cell)) {
      const number = Number(cell);
      event[name] = cell.trim() !== "" && Number.isFinite(number) ? number : cell;
    } else {
      event[name] = cell;
    }
  }
  return event;
}

/** Splits one CSV record (RFC 4180: quotes around a field, "" for a quote inside one). */
function splitCsvRow(text: string): { fields: string[] } | { open: true } | { error: string } {
  const fields: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char !== '"') field += char;
      else if (text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else {
        quoted = false;
        if (i + 1 < text.length && text[i + 1] !== ",")
          return { error: `unexpected text after a closing quote at column ${i + 2}` };
      }
    } else if (char === ",") {
      fields.push(field);
      field = "";
    } else if (char === '"') {
      if (field !== "") return { error: `a quote inside an unquoted field at column ${i + 1}` };
      quoted = true;
    } else {
      field += char;
    }
  }
  if (quoted) return { open: true };
  fields.push(field);
  return { fields };
}
