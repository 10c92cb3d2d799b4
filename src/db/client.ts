import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import {
  type DatabaseConnection,
  type Driver,
  Kysely,
  PGliteDialect,
  PostgresDialect,
  type TransactionSettings,
} from "kysely";
import pg from "pg";
import type { Database as DatabaseConfig } from "../config.js";
import type { Schema } from "./schema.js";

/**
 * Postgres type oids whose text form we parse ourselves. int8 becomes a `bigint` and numeric
 * stays a string, on both engines, so money read from the database never becomes a JS number.
 * This is the only place that decides it.
 */
const INT8 = 20;
const NUMERIC = 1700;
const parsers: Record<number, (text: string) => unknown> = {
  [INT8]: (text) => BigInt(text),
  [NUMERIC]: (text) => text,
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
      await pool.query("SELECT 1");
    },
    async close() {
      await kysely.destroy();
    },
  };
}

async function openPglite(dataDir: string | null): Promise<Db> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const pglite = await PGlite.create(dataDir ?? "memory://", { parsers });
  const lock = new Mutex();
  const kysely = new Kysely<Schema>({ dialect: new OneAtATimePGliteDialect(pglite, lock) });
  return {
    engine: "pglite",
    kysely,
    scriptTransaction: (work) =>
      lock.run(() =>
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
      await lock.run(() => pglite.query("SELECT 1"));
    },
    async close() {
      await kysely.destroy();
      if (!pglite.closed) await pglite.close();
    },
  };
}

/**
 * PGlite is one connection. Kysely's PGlite driver hands that connection to every caller at
 * once, so a query issued while another request holds a transaction would run inside it.
 * Here a caller holds the connection from acquire to release, as a pool of one would do.
 */
class OneAtATimePGliteDialect extends PGliteDialect {
  readonly #lock: Mutex;

  constructor(pglite: PGlite, lock: Mutex) {
    super({ pglite });
    this.#lock = lock;
  }

  override createDriver(): Driver {
    return new OneAtATimeDriver(super.createDriver(), this.#lock);
  }
}

class OneAtATimeDriver implements Driver {
  readonly #inner: Driver;
  readonly #lock: Mutex;
  readonly #releases = new Map<DatabaseConnection, () => void>();

  readonly savepoint: Driver["savepoint"];
  readonly rollbackToSavepoint: Driver["rollbackToSavepoint"];
  readonly releaseSavepoint: Driver["releaseSavepoint"];

  constructor(inner: Driver, lock: Mutex) {
    this.#inner = inner;
    this.#lock = lock;
    this.savepoint = inner.savepoint?.bind(inner);
    this.rollbackToSavepoint = inner.rollbackToSavepoint?.bind(inner);
    this.releaseSavepoint = inner.releaseSavepoint?.bind(inner);
  }

  init() {
    return this.#inner.init();
  }

  async acquireConnection() {
    const release = await this.#lock.acquire();
    const connection = await this.#inner.acquireConnection();
    this.#releases.set(connection, release);
    return connection;
  }

  async releaseConnection(connection: DatabaseConnection) {
    await this.#inner.releaseConnection(connection);
    const release = this.#releases.get(connection);
    this.#releases.delete(connection);
    release?.();
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings) {
    return this.#inner.beginTransaction(connection, settings);
  }

  commitTransaction(connection: DatabaseConnection) {
    return this.#inner.commitTransaction(connection);
  }

  rollbackTransaction(connection: DatabaseConnection) {
    return this.#inner.rollbackTransaction(connection);
  }

  destroy() {
    return this.#inner.destroy();
  }
}

/** A FIFO lock: `acquire()` resolves to the function that releases it. */
class Mutex {
  #tail: Promise<void> = Promise.resolve();

  acquire(): Promise<() => void> {
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const ready = this.#tail.then(() => release);
    this.#tail = this.#tail.then(() => held);
    return ready;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await work();
    } finally {
      release();
    }
  }
}
