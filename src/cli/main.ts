import { open } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { parseArgs } from "node:util";
import { type Config, ConfigError, loadConfig } from "../config.js";
import { type Db, openDatabase } from "../db/client.js";
import { DataDirInUse } from "../db/dataDirLock.js";
import { migrate } from "../db/migrate.js";
import { type KeyScope, keyScopes } from "../domain/access.js";
import { consoleLinks } from "../domain/consoleLinks.js";
import { AppError, exitCodeOf } from "../domain/errors.js";
import { formatCents, formatCredits, parseCredits, readableCredits } from "../domain/money.js";
import { plainText } from "../domain/text.js";
import { type Metric, metrics } from "../domain/usageEvents.js";
import { createLogger } from "../logger.js";
import { startMeterline } from "../main.js";
import { adviceView, readAdvice } from "../services/advisePlans.js";
import { createApiKey } from "../services/apiKeys.js";
import { grantCredits } from "../services/creditGrants.js";
import { expireCredits, warnExpiringCredits } from "../services/expireCredits.js";
import { getOrg } from "../services/orgDirectory.js";
import { readEmails } from "../services/readEmails.js";
import { type MetricSummary, summarizeUsage } from "../services/readUsage.js";
import { MAX_BATCH, recordUsage } from "../services/recordUsage.js";
import { syncStripeCatalog } from "../services/syncStripeCatalog.js";
import { startStripeEmulator } from "../stripe/emulator/index.js";
import { StripeGateway } from "../stripe/gateway.js";

const usage = `Usage: meterline <command> [options]

Commands:
  start                                   serve the API and console (migrates first)
  migrate                                 apply pending database migrations
  keys create (--platform | --org ORG) --scopes a,b [--name N]
                                          create a service API key; prints the key alone
                                          scopes: ${keyScopes.join(", ")} (admin: platform keys only)
  stripe sync                             create or update Stripe's products and prices from the
                                          plan catalog (idempotent) and record their ids
  stripe-emulator                         run the local Stripe emulator on its own
  usage import FILE [--org ORG] [--format ndjson|csv]
                                          import usage events from NDJSON (.ndjson, .jsonl; - for
                                          stdin) or CSV (.csv, header row of field names) in
                                          batches of ${MAX_BATCH}; --org refuses other orgs' events
  usage show ORG [--json]                 the org's current cycle and usage per metric
  credits grant ORG N --note TEXT [--expires-at ISO] [--key K]
                                          grant N credits by hand (12 months unless told);
                                          --key makes a repeated command grant once
  credits expire                          expire what is left of grants past their date and
                                          warn of those expiring within 7 days (the server
                                          also does both every ten minutes)
  mail list [--org ORG] [--limit N] [--body] [--json]
                                          the emails queued and sent, newest first (without
                                          SMTP_URL this is the local mailbox); --body adds the text

Configuration comes from the environment (PORT, DATA_DIR, DATABASE_URL, …); see README.md.
Exit codes: 0 ok, 1 failure, 2 bad usage.`;

class UsageError extends Error {}

/** A name or note as the API takes it (no control nor bidirectional characters), else bad usage naming the flag. */
function textFlag(flag: string, value: string, max: number): string {
  const parsed = plainText({ max }).safeParse(value);
  if (!parsed.success) throw new UsageError(`${flag} ${parsed.error.issues[0]?.message ?? "is not valid"}`);
  return parsed.data;
}

/** A command that ran but failed, already explained by its message: exit 1. */
class CommandFailure extends Error {}

type Command = (args: string[]) => Promise<void>;

const commands: Record<string, Command> = {
  async start() {
    const config = loadConfig();
    const meterline = await startMeterline({ config }).catch((error) => {
      throw inUse(
        error,
        (url) =>
          `Meterline already serves this folder at ${url}: use it, or give this server its own DATA_DIR.`,
      );
    });
    meterline.app.log.info({ url: meterline.url, database: config.database.engine }, "Meterline is running");
    const lines = [
      "",
      `  Meterline is running at ${meterline.url}`,
      `  Console: ${meterline.url}/plans   API reference: ${meterline.url}/docs   health: ${meterline.url}/healthz`,
      `  Database: ${config.database.engine === "postgres" ? "PostgreSQL" : `PGlite in ${config.database.dataDir}`}`,
      `  Stripe: ${meterline.stripeEmulator ? `local emulator at ${meterline.stripeEmulator.url} (test card 4242 4242 4242 4242)` : (config.stripe.apiUrl ?? "api.stripe.com")}`,
    ];
    if (meterline.demo) {
      lines.push(
        "",
        "  Demo data (printed on this first start only):",
        `    login         ${meterline.demo.email} / ${meterline.demo.password}`,
        `    organization  ${meterline.demo.orgId}`,
        `    platform key  ${meterline.demo.platformKey}`,
      );
    }
    process.stdout.write(`${lines.join("\n")}\n\n`);
    let closing = false;
    const stop = async () => {
      if (closing) return;
      closing = true;
      await meterline.close();
      process.exit(0);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  },

  async migrate() {
    const config = loadConfig();
    const db = await openCommandDatabase(
      config,
      (url) =>
        `The server at ${url} applied every migration it has when it started; to apply newer ones, restart it (start migrates).`,
    );
    try {
      const applied = await migrate({ db });
      process.stdout.write(
        applied.length
          ? `${applied.map((m) => `applied ${String(m.version).padStart(4, "0")}_${m.name}`).join("\n")}\n`
          : "database is up to date\n",
      );
    } finally {
      await db.close();
    }
  },

  async stripe(args) {
    const [action, ...rest] = args;
    if (action !== "sync" || rest.length)
      throw new UsageError(`unknown stripe action: ${args.join(" ") || "(none)"}`);
    const config = loadConfig();
    if (!config.stripe.secretKey) {
      throw new ConfigError(
        "STRIPE_SECRET_KEY is not set: `meterline start` syncs the catalog to its local emulator by itself",
      );
    }
    const db = await openCommandDatabase(config, null);
    try {
      await migrate({ db });
      const gateway = new StripeGateway({ secretKey: config.stripe.secretKey, apiUrl: config.stripe.apiUrl });
      const synced = await syncStripeCatalog({
        db: db.kysely,
        stripe: gateway,
        catalog: config.catalog,
        now: new Date(),
      });
      const lines = synced.map(
        (price) =>
          `${price.plan.padEnd(12)} ${price.interval.padEnd(6)} ${formatCents(price.unitAmountCents, config.catalog.currency).padStart(12)}  ${price.priceId}  ${price.action}`,
      );
      process.stdout.write(`${lines.join("\n")}\n`);
    } finally {
      await db.close();
    }
  },

  async "stripe-emulator"(args) {
    if (args.length) throw new UsageError(`stripe-emulator takes no arguments; got ${args.join(" ")}`);
    const config = loadConfig();
    const apiKey = config.stripe.secretKey ?? "sk_test_emulator";
    const webhookSecret = config.stripe.webhookSecrets[0] ?? "whsec_emulator";
    const emulator = await startStripeEmulator({
      port: config.stripeEmulatorPort,
      host: "0.0.0.0",
      apiKey,
      webhook: { url: `${config.publicUrl}/v1/webhooks/stripe`, secret: webhookSecret },
      dataFile: path.join(config.dataDir, "stripe-emulator.json"),
      logger: createLogger(config),
    });
    process.stdout.write(
      [
        "",
        `  Stripe emulator listening at ${emulator.url}`,
        `  delivering webhooks to ${config.publicUrl}/v1/webhooks/stripe`,
        "",
        "  Point Meterline at it with:",
        `    STRIPE_SECRET_KEY=${apiKey} STRIPE_WEBHOOK_SECRET=${webhookSecret} STRIPE_API_URL=${emulator.url}`,
        "",
      ].join("\n"),
    );
    const stop = async () => {
      await emulator.close();
      process.exit(0);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  },

  async keys(args) {
    const [action, ...rest] = args;
    if (action !== "create") throw new UsageError(`unknown keys action: ${action ?? "(none)"}`);
    const { values } = parseArgs({
      args: rest,
      options: {
        platform: { type: "boolean", default: false },
        org: { type: "string" },
        scopes: { type: "string" },
        name: { type: "string" },
      },
      strict: true,
    });
    if (values.platform === Boolean(values.org))
      throw new UsageError("give exactly one of --platform or --org ORG");
    const scopes = (values.scopes ?? "").split(",").map((scope) => scope.trim());
    const unknown = scopes.filter((scope) => !(keyScopes as readonly string[]).includes(scope));
    if (!values.scopes || unknown.length) {
      throw new UsageError(
        `--scopes must list some of ${keyScopes.join(", ")}; got ${values.scopes ?? "nothing"}`,
      );
    }
    const name = values.name === undefined ? undefined : textFlag("--name", values.name, 200);
    const config = loadConfig();
    const org = values.org;
    const db = await openCommandDatabase(
      config,
      org
        ? (url) =>
            `The organization's owner or admin can create its key through the server instead: POST ${url}/v1/orgs/${org}/api-keys ${JSON.stringify({ name: name ?? "CLI key", scopes })}.`
        : null,
    );
    try {
      await migrate({ db });
      const orgId = values.org ?? null;
      if (orgId) await getOrg({ db: db.kysely, orgId });
      const { key } = await createApiKey({
        db: db.kysely,
        orgId,
        name: name ?? (orgId ? "CLI key" : "CLI platform key"),
        scopes: scopes as KeyScope[],
        createdBy: null,
        now: new Date(),
      });
      process.stdout.write(`${key}\n`);
    } finally {
      await db.close();
    }
  },

  async usage(args) {
    const [action, ...rest] = args;
    if (action === "import") return importUsage(rest);
    if (action === "show") return showUsage(rest);
    throw new UsageError(`unknown usage action: ${action ?? "(none)"}`);
  },

  async credits(args) {
    const [action, ...rest] = args;
    if (action === "expire") {
      if (rest.length) throw new UsageError("credits expire takes no arguments");
      const config = loadConfig();
      const db = await openCommandDatabase(
        config,
        (url) =>
          `The server at ${url} expires grants past their date and warns of those expiring itself, every ten minutes: nothing needs running meanwhile.`,
      );
      try {
        await migrate({ db });
        const now = new Date();
        const { expired } = await expireCredits({ db: db.kysely, now });
        const warned = await warnExpiringCredits({ db: db.kysely, now });
        process.stdout.write(
          `expired ${expired} grant${expired === 1 ? "" : "s"}; queued ${warned} expiry warning${warned === 1 ? "" : "s"}\n`,
        );
      } finally {
        await db.close();
      }
      return;
    }
    if (action !== "grant") throw new UsageError(`unknown credits action: ${action ?? "(none)"}`);
    const { values, positionals } = parseArgs({
      args: rest,
      options: { note: { type: "string" }, "expires-at": { type: "string" }, key: { type: "string" } },
      allowPositionals: true,
      strict: true,
    });
    const [orgId, amountText, ...extra] = positionals;
    if (!orgId || !amountText || extra.length) throw new UsageError("credits grant takes ORG and N");
    const amount = parseCredits(amountText);
    if (amount === null || amount <= 0n)
      throw new UsageError(`N must be a positive number of credits; got ${amountText}`);
    if (values.note === undefined)
      throw new UsageError("--note is required: say why the credits are granted");
    const note = textFlag("--note", values.note, 500);
    const expiresAt = values["expires-at"] ? new Date(values["expires-at"]) : undefined;
    if (expiresAt && Number.isNaN(expiresAt.getTime()))
      throw new UsageError("--expires-at must be an ISO 8601 instant");
    const config = loadConfig();
    const db = await openCommandDatabase(config, (url) => {
      const body = { amount: formatCredits(amount), note, expires_at: expiresAt?.toISOString() };
      const header = values.key ? ` with the header Idempotency-Key: ${values.key}` : "";
      return `Grant through the server instead, with a platform key holding admin: POST ${url}/v1/admin/orgs/${orgId}/credits/grants ${JSON.stringify(body)}${header}.`;
    });
    try {
      await migrate({ db });
      const { posted, entry } = await grantCredits({
        db: db.kysely,
        orgId,
        amount,
        expiresAt,
        note,
        idempotencyKey: values.key,
        now: new Date(),
      });
      process.stdout.write(
        `${posted ? "granted" : "already granted"} ${formatCredits(entry.amount)} credits to ${orgId}; balance ${formatCredits(entry.balance_after)}\n`,
      );
    } finally {
      await db.close();
    }
  },

  async mail(args) {
    const [action, ...rest] = args;
    if (action !== "list") throw new UsageError(`unknown mail action: ${action ?? "(none)"}`);
    const { values, positionals } = parseArgs({
      args: rest,
      options: {
        org: { type: "string" },
        limit: { type: "string", default: "20" },
        body: { type: "boolean", default: false },
        json: { type: "boolean", default: false },
      },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length)
      throw new UsageError(`mail list takes no arguments; got ${positionals.join(" ")}`);
    const limit = Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new UsageError(`--limit must be a whole number from 1 to 1000; got ${values.limit}`);
    }
    const config = loadConfig();
    const org = values.org;
    const db = await openCommandDatabase(config, (url) =>
      org
        ? `Ask the server instead: GET ${url}/v1/orgs/${org}/emails as the organization's owner, billing admin or admin, or open ${consoleLinks(url, org).usage}.`
        : `Ask the server instead: GET ${url}/v1/orgs/ORG/emails for each organization, as its owner, billing admin or admin, or open its console's Usage page.`,
    );
    try {
      await migrate({ db });
      const { items } = await readEmails({
        db: db.kysely,
        orgId: values.org ?? null,
        publicUrl: config.publicUrl,
        cursor: null,
        limit,
      });
      if (values.json) {
        const view = items.map(({ facts, html, ...email }) => email);
        process.stdout.write(`${JSON.stringify(view, null, 2)}\n`);
        return;
      }
      if (items.length === 0) process.stdout.write("no emails\n");
      for (const email of items) {
        const when = (email.sent_at ?? email.created_at).toISOString().replace(/\.\d+Z$/, "Z");
        process.stdout.write(
          `${when}  ${email.status.padEnd(11)}  ${email.org_id}  ${email.recipients.join(", ")}\n`,
        );
        process.stdout.write(`  ${email.subject}\n`);
        if (values.body) process.stdout.write(`${email.text.replace(/^/gm, "    ")}\n\n`);
      }
    } finally {
      await db.close();
    }
  },
};

const eventFields = ["id", "org_id", "app_id", "metric", "timestamp", "device_id", "value"];
const requiredFields = ["id", "org_id", "app_id", "metric", "timestamp"];
const formats = { ".ndjson": "ndjson", ".jsonl": "ndjson", ".csv": "csv" } as const;
type Format = (typeof formats)[keyof typeof formats];
/** Rejections kept for the summary; the rest are only counted, so memory stays bounded. */
const SHOWN_REJECTIONS = 20;

/** One record of the file: an event to send, or a line that could not be read as one. */
type SourceRecord = { line: number; event: unknown } | { line: number; error: string };

async function importUsage(args: string[]): Promise<void> {
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

function formatOf(file: string, given: string | undefined): Format {
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

async function openSource(file: string): Promise<{
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
async function* readRecords(stream: Readable, format: Format): AsyncGenerator<SourceRecord> {
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

async function showUsage(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: { json: { type: "boolean", default: false } },
    allowPositionals: true,
    strict: true,
  });
  const [orgId, ...extra] = positionals;
  if (!orgId) throw new UsageError("usage show needs an organization id");
  if (extra.length) throw new UsageError(`usage show takes one ORG; got ${positionals.join(" ")}`);
  const config = loadConfig();
  const db = await openCommandDatabase(
    config,
    (url) =>
      `Ask the server instead: GET ${url}/v1/orgs/${orgId}/usage and …/advisor as the organization's owner, billing admin or admin, or open ${consoleLinks(url, orgId).usage}.`,
  );
  try {
    await migrate({ db });
    const now = new Date();
    const advised = await readAdvice({ db: db.kysely, catalog: config.catalog, orgId, now });
    const { report } = advised.outlook;
    const advice = adviceView({ ...advised, catalog: config.catalog });
    const view = {
      org: orgId,
      ...summarizeUsage(advised.outlook),
      source: report.standing.source,
      status: report.standing.status,
      trial_ends_at: report.standing.trialEndsAt,
      advice: { recommended: advice.recommended, current: advice.current, spike: advice.spike },
    };
    if (values.json) {
      process.stdout.write(`${JSON.stringify(view, null, 2)}\n`);
      return;
    }
    const day = (at: Date) => at.toISOString().slice(0, 10);
    const plan =
      view.source === "trial"
        ? `${view.plan} trial until ${day(report.standing.trialEndsAt)}`
        : view.source === "subscription"
          ? `${view.plan}, ${view.status}`
          : "no plan (nothing included)";
    // Devices and started minutes come whole; their forecast is shown so too.
    const wholeUnits = new Set<Metric>(["mau", "build_minutes"]);
    const rows = [
      [
        "metric",
        "unit",
        "used / included",
        "percent",
        "overage",
        "overage cost (credits)",
        "forecast at cycle end",
      ],
      ...metrics.map((metric) => {
        const m: MetricSummary & { current_gib?: number } = view.metrics[metric];
        const reached = m.forecast.quota_reached_on
          ? `, quota reached ${day(m.forecast.quota_reached_on)}`
          : "";
        const current = m.current_gib !== undefined ? ` (${amount(m.current_gib)} GiB stored now)` : "";
        return [
          metric,
          m.unit,
          `${amount(m.used)} / ${amount(m.included)}`,
          m.percent === null ? "—" : `${m.percent.toFixed(1)}%`,
          amount(m.overage),
          readableCredits(m.overage_cost),
          `${wholeUnits.has(metric) ? amount(Math.round(m.forecast.at_cycle_end)) : amount(m.forecast.at_cycle_end)}${reached}${current}`,
        ];
      }),
    ];
    // Text columns align left, numbers right.
    const right = new Set([2, 3, 4, 5]);
    const widths =
      rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length))) ?? [];
    const table = rows.map((row) =>
      row
        .map((cell, column) => {
          const width = widths[column] ?? 0;
          return right.has(column) ? cell.padStart(width) : cell.padEnd(width);
        })
        .join("  ")
        .trimEnd(),
    );
    process.stdout.write(
      [
        `organization ${orgId}: ${plan}`,
        `cycle ${day(report.cycle.start)} → ${day(report.cycle.end)} (UTC), ${day(now)} today`,
        "",
        ...table,
        "",
        `advice: ${advice.recommended.name}, billed ${advice.recommended.interval === "year" ? "yearly" : "monthly"}. ${advice.recommended.reason}`,
        "",
      ].join("\n"),
    );
  } finally {
    await db.close();
  }
}

/**
 * The command's database. A PGlite folder opens in one process at a time: while another holds
 * it, the command reads and writes nothing, and says who holds it and how to go on.
 */
async function openCommandDatabase(config: Config, instead: Instead): Promise<Db> {
  const command = ["meterline", ...process.argv.slice(2)].join(" ");
  return openDatabase(config.database, { command }).catch((error) => {
    throw inUse(error, instead);
  });
}

/** What the command's user can ask the server at `url` instead; null when nothing fits. */
type Instead = ((url: string) => string) | null;

/** `error` as the command's failure when it is a folder in use, told with what to do instead. */
function inUse(error: unknown, instead: Instead): unknown {
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

/** A quantity for the table: grouped, at most three decimals, "<0.001" rather than a false 0. */
function amount(value: number): string {
  if (value > 0 && value < 0.001) return "<0.001";
  return value.toLocaleString("en-US", { maximumFractionDigits: 3 });
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === "help" || name === "--help" || name === "-h") {
    process.stdout.write(`${usage}\n`);
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`meterline: unknown command "${name}"\n\n${usage}\n`);
    return 2;
  }
  try {
    await command(args);
    return 0;
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`meterline ${name}: ${(error as Error).message}\n\n${usage}\n`);
      return 2;
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`meterline: ${error.message}\n`);
      return 2;
    }
    if (error instanceof CommandFailure) {
      process.stderr.write(`meterline ${name}: ${error.message}\n`);
      return 1;
    }
    if (error instanceof AppError) {
      process.stderr.write(`meterline ${name}: ${error.message}\n`);
      return exitCodeOf(error.code);
    }
    process.stderr.write(
      `meterline ${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return 1;
  }
}

const exitCode = await main(process.argv.slice(2));
// `start` and `stripe-emulator` keep serving; every other command ends here.
const serving = ["start", "stripe-emulator"];
if (exitCode !== 0 || !serving.includes(process.argv[2] ?? "")) process.exit(exitCode);
