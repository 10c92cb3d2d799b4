import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import { Kysely, PGliteDialect, PostgresDialect, sql } from "kysely";
import pg from "pg";
import type { Database as DatabaseConfig } from "../config.js";
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
  close(): Promise<void>;
}

export async function openDatabase(config: DatabaseConfig): Promise<Db> {
  return config.engine === "postgres" ? openPostgres(config.url) : openPglite(config.dataDir);
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
    async close() {
      await kysely.destroy();
    },
  };
}

async function openPglite(dataDir: string | null): Promise<Db> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const pglite = await PGlite.create(dataDir ?? "memory://", { parsers });
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
    async close() {
      await kysely.destroy();
      if (!pglite.closed) await pglite.close();
    },
  };
}
