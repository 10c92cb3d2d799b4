import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCatalog } from "../src/domain/catalog.js";
import { createOrg } from "../src/services/accounts/createOrg.js";
import { signUp } from "../src/services/accounts/signUp.js";
import { consumeOverage } from "../src/services/credits/consumeOverage.js";
import { grantCredits } from "../src/services/credits/creditGrants.js";
import { recordUsage } from "../src/services/usage/recordUsage.js";
import { availableEngines, createTestDatabase, type TestDatabase } from "./support/databases.js";

const engines = await availableEngines();
const catalog = buildCatalog();

// Races need several connections: PostgreSQL only (PGlite has one).
describe.runIf(engines.includes("postgres"))("credit races [postgres]", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase("postgres");
  });
  afterAll(() => database.drop());

  it("16 clients ingesting and charging one org's overage at once: exact, never below zero, no deadlock", async () => {
    const db = database.db.kysely;
    const now = new Date();
    const { user } = await signUp({
      db,
      email: `race-${Date.now()}@example.com`,
      password: "correct horse battery",
      name: "R",
      now,
    });
    const org = await createOrg({ db, owner: user, name: "R", trialDays: 15, now });
    // 10 credits pay for 3,333 MAU over the 2,000 of the trial; the clients bring 4,000 more.
    await grantCredits({ db, orgId: org.id, amount: 10_000_000n, note: "race", now });
    const clients = Array.from({ length: 16 }, (_, client) => async () => {
      for (let round = 0; round < 5; round++) {
        const events = Array.from({ length: 75 }, (_, i) => ({
          id: `c${client}-r${round}-${i}`,
          org_id: org.id,
          app_id: "app",
          metric: "mau",
          device_id: `device-${client}-${round}-${i}`,
          timestamp: new Date().toISOString(),
        }));
        const result = await recordUsage({ db, keyOrgId: null, events, now: new Date() });
        expect(result.rejected).toEqual([]);
        await consumeOverage({ db, catalog, orgId: org.id, now: new Date() });
      }
    });
    await Promise.all(clients.map((client) => client()));
    await consumeOverage({ db, catalog, orgId: org.id, now: new Date() });

    const ledger = await sql<{ total: string; lowest: string; deducted: string }>`
      SELECT sum(amount)::text AS total, min(balance_after)::text AS lowest,
        (-sum(amount) FILTER (WHERE type = 'deduction'))::text AS deducted
      FROM credit_entries WHERE org_id = ${org.id}
    `.execute(db);
    const account = await db
      .selectFrom("credit_accounts")
      .select("balance")
      .where("org_id", "=", org.id)
      .executeTakeFirstOrThrow();
    const charged = await sql<{ charged: string }>`
      SELECT sum(charged)::text AS charged FROM overage_charges WHERE org_id = ${org.id}
    `.execute(db);
    const row = ledger.rows[0];
    // 6,000 devices, 4,000 over at 0.003: 12 credits due, 10 paid, all of them.
    expect(row?.deducted).toBe("10000000");
    expect(charged.rows[0]?.charged).toBe("10000000");
    expect(BigInt(row?.total ?? -1)).toBe(BigInt(account.balance));
    expect(BigInt(account.balance)).toBe(0n);
    expect(BigInt(row?.lowest ?? -1)).toBeGreaterThanOrEqual(0n);
  }, 120_000);
});
