import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import { Kysely, PGliteDialect, PostgresDialect, sql } from "kysely";
import pg from "pg";
import type { Database as DatabaseConfig } from "../config.js";
import { type DataDirOpener, lockDataDir } from "./dataDirLock.js";
import type { Schema } from "./schema.js";

/**
 * Postgres type oids whose text form we parse ourselves. int8 becomes a `bigint` and numeric
 * stays a string, on both engines, so money read from the database never becomes a JS number;
 * a date stays its `YYYY-MM-DD` text, a UTC day, never shifted by the process's time zone.
 * This is the only place that decides it.
 */
const INT8 = 20;
const NUMERIC = 1700;
const DATE = 1082;
const parsers: Record<number, (text: string) => unknown> = {
  [INT8]: (text) => BigInt(text),
  [NUMERIC]: (text) => text,
  [DATE]: (text) => text,
};

/** A transaction on a raw connection, for SQL scripts of several statements (migrations). */
export interface ScriptTransaction {
  exec(script: string): Promise<void>;
  query<Row>(text: string, params?: unknown[]): Promise<Row[]>;
}

export interface Db {
  engine: DatabaseConfig["engine"];
  kysely: Kysely<Schema>;
  scriptTransaction<T>(work: (tx: ScriptTransaction) => Promise<T>): Promise<T>;
  /** Throws when the database does not answer. */
  ping(): Promise<void>;
  /**
   * Calls `onPayload` for every NOTIFY on `channel`, from any process sharing the database,
   * after the notifying transaction commits. `onGap` runs when notifications may have been
   * missed (the listening connection was lost and is back).
   */
  listen(
    channel: string,
    onPayload: (payload: string) => void,
    onGap?: () => void,
  ): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** `opener` describes this process in a PGlite folder's lock (see `db/dataDirLock.ts`). */
export async function openDatabase(config: DatabaseConfig, opener: DataDirOpener = {}): Promise<Db> {
  return config.engine === "postgres" ? openPostgres(config.url) : openPglite(config.dataDir, opener);
}

function openPostgres(url: string): Db {
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    types: {
      getTypeParser: ((oid: number, format?: "text" | "binary") =>
        parsers[oid] ?? pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client losing its server (a restart) must not crash the process; the pool replaces it.
  pool.on("error", () => {});
  // Nor one checked out, mid-query: the pool listens for errors on idle clients only, and an
  // 'error' event nobody listens to ends the process. The query fails, and the pool drops the
  // broken client when it comes back.
  pool.on("connect", (client) => client.on("error", () => {}));
  const kysely = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
  return {
    engine: "postgres",
    kysely,
    async scriptTransaction(work) {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const result = await work({
          exec: async (script) => {
            await client.query(script);
          },
          query: async <Row>(text: string, params: unknown[] = []) =>
            (await client.query(text, params)).rows as Row[],
        });
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    async ping() {
      await sql`SELECT 1`.execute(kysely);
    },
    listen: (channel, onPayload, onGap) => listenPostgres({ url, channel, onPayload, onGap }),
    async close() {
      await kysely.destroy();
    },
  };
}

/** A dedicated connection for LISTEN, reconnecting with backoff when the server goes away. */
async function listenPostgres({
  url,
  channel,
  onPayload,
  onGap,
}: {
  url: string;
  channel: string;
  onPayload: (payload: string) => void;
  onGap: (() => void) | undefined;
}): Promise<() => Promise<void>> {
  let client: pg.Client | null = null;
  let stopped = false;
  let delay = 100;
  const connect = async (): Promise<void> => {
    const next = new pg.Client({ connectionString: url, keepAlive: true });
    next.on("notification", (message) => {
      if (message.channel === channel && message.payload !== undefined) onPayload(message.payload);
    });
    const lost = () => {
      void next.end().catch(() => {});
      if (client !== next) return;
      client = null;
      if (!stopped) setTimeout(reconnect, delay).unref();
    };
    next.on("error", lost);
    next.on("end", lost);
    await next.connect();
    await next.query(`LISTEN "${channel.replaceAll('"', '""')}"`);
    client = next;
    delay = 100;
  };
  const reconnect = () => {
    if (stopped || client) return;
    connect().then(
      () => onGap?.(),
      () => {
        delay = Math.min(delay * 2, 5_000);
        setTimeout(reconnect, delay).unref();
      },
    );
  };
  await connect();
  // A connection gone half-open raises nothing: a periodic query finds out, so the reconnect and
  // the caller's gap handling (everything marked stale) follow.
  const probe = setInterval(() => {
    const current = client;
    if (!current) return;
    const timeout = setTimeout(
      () => current.emit("error", new Error("LISTEN connection stopped answering")),
      10_000,
    );
    current.query("SELECT 1").then(
      () => clearTimeout(timeout),
      (error: Error) => {
        clearTimeout(timeout);
        current.emit("error", error);
      },
    );
  }, 30_000);
  probe.unref();
  return async () => {
    stopped = true;
    clearInterval(probe);
    await client?.end().catch(() => {});
  };
}

async function openPglite(dataDir: string | null, opener: DataDirOpener): Promise<Db> {
  // Two processes in one folder corrupt it: the lock is taken before PGlite touches anything.
  const lock = dataDir ? await lockDataDir({ dataDir, ...opener }) : null;
  let pglite: PGlite;
  try {
    if (dataDir) mkdirSync(dataDir, { recursive: true });
    pglite = await PGlite.create(dataDir ?? "memory://", { parsers });
  } catch (error) {
    lock?.release();
    throw error;
  }
  // Kysely's PGlite adapter hands the single connection to one caller at a time; holding it
  // through `connection()` keeps raw PGlite scripts in that same queue.
  const kysely = new Kysely<Schema>({ dialect: new PGliteDialect({ pglite }) });
  return {
    engine: "pglite",
    kysely,
    scriptTransaction: (work) =>
      kysely.connection().execute(() =>
        pglite.transaction((tx) =>
          work({
            exec: async (script) => {
              await tx.exec(script);
            },
            query: async <Row>(text: string, params: unknown[] = []) =>
              (await tx.query<Row>(text, params)).rows,
          }),
        ),
      ),
    async ping() {
      await sql`SELECT 1`.execute(kysely);
    },
    // One process holds a PGlite database, so its own notifications are the only ones.
    listen: async (channel, onPayload) => {
      const unlisten = await kysely.connection().execute(() => pglite.listen(channel, onPayload));
      return () => unlisten();
    },
    async close() {
      try {
        await kysely.destroy();
        if (!pglite.closed) await pglite.close();
      } finally {
        lock?.release();
      }
    },
  };
}
