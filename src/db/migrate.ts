import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Db } from "./client.js";
import { advisoryLocks } from "./transaction.js";

const migrationsDir = fileURLToPath(new URL("./migrations/", import.meta.url));
const fileName = /^(\d{4})_([a-z0-9_]+)\.sql$/;

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export function listMigrations(dir: string = migrationsDir): Migration[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith(".sql"))
    .map((file) => {
      const match = fileName.exec(file);
      if (!match?.[1] || !match[2])
        throw new Error(`Migration file name must look like 0001_verb_noun.sql: ${file}`);
      const sql = readFileSync(`${dir}/${file}`, "utf8");
      return {
        version: Number(match[1]),
        name: match[2],
        sql,
        checksum: createHash("sha256").update(sql).digest("hex"),
      };
    })
    .sort((a, b) => a.version - b.version)
    .map((migration, index, all) => {
      if (index > 0 && all[index - 1]?.version === migration.version) {
        throw new Error(`Two migration files share version ${migration.version}`);
      }
      return migration;
    });
}

/**
 * Applies the pending forward-only migrations, each in its own transaction, on either engine.
 * Several processes may start at once: the advisory lock makes them take turns, and each
 * re-checks what is applied after taking it. An applied migration whose file has since changed,
 * or one the code does not know (a database used by a newer version), stops the run, since the
 * database no longer matches the code.
 */
export async function migrate({
  db,
  migrations = listMigrations(),
}: {
  db: Db;
  migrations?: Migration[];
}): Promise<Migration[]> {
  const known = new Set(migrations.map((m) => m.version));
  await db.scriptTransaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [advisoryLocks.migrations]);
    await tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const applied = await tx.query<{ version: number; name: string }>(
      "SELECT version, name FROM schema_migrations",
    );
    const unknown = applied.filter((row) => !known.has(row.version));
    if (unknown.length) {
      const names = unknown.map((row) => `${row.version}_${row.name}`).join(", ");
      throw new Error(
        `The database has migrations this version of Meterline does not know (${names}): run a newer version`,
      );
    }
  });
  const applied: Migration[] = [];
  for (const migration of migrations) {
    const didApply = await db.scriptTransaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock($1)", [advisoryLocks.migrations]);
      const [existing] = await tx.query<{ checksum: string }>(
        "SELECT checksum FROM schema_migrations WHERE version = $1",
        [migration.version],
      );
      if (existing) {
        if (existing.checksum !== migration.checksum) {
          throw new Error(
            `Migration ${migration.version}_${migration.name} was changed after it was applied; add a new migration instead`,
          );
        }
        return false;
      }
      await tx.exec(migration.sql);
      await tx.query("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)", [
        migration.version,
        migration.name,
        migration.checksum,
      ]);
      return true;
    });
    if (didApply) applied.push(migration);
  }
  return applied;
}
