import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../src/db/client.js";
import { findApiKey } from "../src/services/accounts/apiKeys.js";
import { seedDemo } from "../src/services/accounts/seedDemo.js";
import { logIn } from "../src/services/accounts/signUp.js";
import { availableEngines, createTestDatabase, type TestDatabase } from "./support/databases.js";

for (const engine of await availableEngines()) {
  describe(`demo seed [${engine}]`, () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await createTestDatabase(engine);
    });
    afterAll(() => database.drop());

    it("seeds once even when two processes start together, and the credentials work", async () => {
      // On PostgreSQL the second pool stands for a second server process.
      const other = engine === "postgres" ? await openDatabase(database.config) : database.db;
      const now = new Date();
      const results = await Promise.all([
        seedDemo({ db: database.db.kysely, trialDays: 15, now }),
        seedDemo({ db: other.kysely, trialDays: 15, now }),
      ]);
      if (other !== database.db) await other.close();
      const seeded = results.filter((result) => result !== null);
      expect(seeded).toHaveLength(1);
      const demo = seeded[0];
      if (!demo) throw new Error("seeded once");
      const signedIn = await logIn({
        db: database.db.kysely,
        email: demo.email,
        password: demo.password,
        now,
      });
      expect(signedIn.user.email).toBe("demo@meterline.local");
      const key = await findApiKey({ db: database.db.kysely, key: demo.platformKey });
      expect(key).toMatchObject({ org_id: null, scopes: ["admin", "entitlements:read", "usage:write"] });
      expect(await seedDemo({ db: database.db.kysely, trialDays: 15, now })).toBeNull();
    });
  });
}
