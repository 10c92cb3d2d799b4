import { randomBytes } from "node:crypto";
import pg from "pg";
import type { Database } from "../../src/config.js";
import { type Db, openDatabase } from "../../src/db/client.js";
import { migrate } from "../../src/db/migrate.js";

/**
 * The engines every database suite runs on: PGlite always, PostgreSQL when `DATABASE_URL` or
 * the local server (127.0.0.1:5432, database `test`) answers. Under `CI=true` a missing
 * PostgreSQL fails the run rather than quietly testing less.
 */
const postgresAdminUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

export type Engine = Database["engine"];

let postgresReachable: Promise<boolean> | undefined;

function probePostgres(): Promise<boolean> {
  postgresReachable ??= (async () => {
    const client = new pg.Client({ connectionString: postgresAdminUrl, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query("SELECT 1");
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return postgresReachable;
}

export async function availableEngines(): Promise<Engine[]> {
  if (await probePostgres()) return ["pglite", "postgres"];
  if (process.env.CI === "true") {
    throw new Error(`PostgreSQL is required under CI=true but ${postgresAdminUrl} does not answer`);
  }
  return ["pglite"];
}

export interface TestDatabase {
  db: Db;
  config: Database;
  drop(): Promise<void>;
}

/**
 * A database of its own, migrated unless asked otherwise: in-memory PGlite, or a uniquely named
 * PostgreSQL database dropped by `drop()`.
 */
export async function createTestDatabase(engine: Engine, { migrated = true } = {}): Promise<TestDatabase> {
  if (engine === "pglite") {
    const config: Database = { engine: "pglite", dataDir: null };
    const db = await openDatabase(config);
    if (migrated) await migrate({ db });
    return { db, config, drop: () => db.close() };
  }
  const name = `meterline_test_${Date.now()}_${randomBytes(4).toString("hex")}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const url = new URL(postgresAdminUrl);
  url.pathname = `/${name}`;
  const config: Database = { engine: "postgres", url: url.toString() };
  const db = await openDatabase(config);
  if (migrated) await migrate({ db });
  return {
    db,
    config,
    async drop() {
      await db.close();
      await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresAdminUrl });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}
