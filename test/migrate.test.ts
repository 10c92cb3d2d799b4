import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../src/db/client.js";
import { listMigrations, migrate } from "../src/db/migrate.js";
import { availableEngines, createTestDatabase, type TestDatabase } from "./support/databases.js";

for (const engine of await availableEngines()) {
  describe(`migrations [${engine}]`, () => {
    let database: TestDatabase;
    let dir: string;
    beforeAll(async () => {
      database = await createTestDatabase(engine, { migrated: false });
      dir = mkdtempSync(path.join(tmpdir(), "meterline-migrations-"));
    });
    afterAll(async () => {
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    });

    it("applies every migration once, in order, and records it", async () => {
      const all = listMigrations();
      expect((await migrate({ db: database.db })).map((m) => m.version)).toEqual(all.map((m) => m.version));
      expect(await migrate({ db: database.db })).toEqual([]);
      const rows = await database.db.kysely
        .selectFrom("schema_migrations")
        .select(["version", "checksum"])
        .execute();
      expect(rows).toEqual(all.map((m) => ({ version: m.version, checksum: m.checksum })));
    });

    it("rolls a failing migration back whole and applies nothing after it", async () => {
      writeFileSync(
        path.join(dir, "9001_create_half.sql"),
        "CREATE TABLE half (id int);\nSELECT no_such_function();",
      );
      writeFileSync(path.join(dir, "9002_create_after.sql"), "CREATE TABLE after_half (id int);");
      await expect(
        migrate({ db: database.db, migrations: [...listMigrations(), ...listMigrations(dir)] }),
      ).rejects.toThrow(/no_such_function/);
      const tables = await sql<{ name: string }>`
        SELECT table_name AS name FROM information_schema.tables WHERE table_name IN ('half', 'after_half')
      `.execute(database.db.kysely);
      expect(tables.rows).toEqual([]);
    });

    it("refuses a database migrated by a newer version, and two files with one version", async () => {
      await expect(migrate({ db: database.db, migrations: listMigrations().slice(0, 1) })).rejects.toThrow(
        /does not know \(2_create_usage_events[,)]/,
      );
      writeFileSync(path.join(dir, "9003_create_a.sql"), "SELECT 1;");
      writeFileSync(path.join(dir, "9003_create_b.sql"), "SELECT 1;");
      expect(() => listMigrations(dir)).toThrow(/share version 9003/);
    });

    it("refuses to run when an applied migration's file was edited", async () => {
      const edited = listMigrations().map((m, i) => (i === 0 ? { ...m, checksum: "edited" } : m));
      await expect(migrate({ db: database.db, migrations: edited })).rejects.toThrow(
        /changed after it was applied/,
      );
    });

    it.runIf(engine === "postgres")(
      "lets several processes start at once: each migration applies once",
      async () => {
        const fresh = await createTestDatabase(engine, { migrated: false });
        try {
          // Two pools on one database stand for two server processes starting together.
          const other = await openDatabase(fresh.config);
          const [a, b] = await Promise.all([migrate({ db: fresh.db }), migrate({ db: other })]);
          await other.close();
          expect(a.length + b.length).toBe(listMigrations().length);
        } finally {
          await fresh.drop();
        }
      },
    );

    it("keeps money exact: int8 reads as bigint and numeric as a string", async () => {
      const result = await sql<{ big: bigint; exact: string }>`
        SELECT 9007199254740993::int8 AS big, 12.500001::numeric AS exact
      `.execute(database.db.kysely);
      expect(result.rows[0]).toEqual({ big: 9007199254740993n, exact: "12.500001" });
    });
  });
}
