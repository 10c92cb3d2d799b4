import fc from "fast-check";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../src/db/client.js";
import { buildCatalog } from "../src/domain/catalog.js";
import { systemClock } from "../src/domain/clock.js";
import { type CycleSchedule, cycleAt, cycleContaining, moveAnchor } from "../src/domain/cycles.js";
import { createOrg } from "../src/services/accounts/createOrg.js";
import { signUp } from "../src/services/accounts/signUp.js";
import { recordUsage } from "../src/services/usage/recordUsage.js";
import { EntitlementCache, startEntitlementCache } from "../src/workers/entitlementCache.js";
import { availableEngines, createTestDatabase, type TestDatabase } from "./support/databases.js";

const engines = await availableEngines();
const catalog = buildCatalog();

for (const engine of engines) {
  describe(`usage aggregates [${engine}]`, () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await createTestDatabase(engine);
    });
    afterAll(() => database.drop());

    it("the database's cycle start agrees with domain/cycles.ts, month ends and leap years included", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({
              at: fc.date({
                min: new Date("2023-01-01T00:00:00Z"),
                max: new Date("2029-12-31T23:59:59Z"),
                noInvalidDate: true,
              }),
              anchorDay: fc.integer({ min: 1, max: 31 }),
            }),
            { minLength: 1, maxLength: 200 },
          ),
          async (cases) => {
            const result = await sql<{ start: string }>`
              SELECT meterline_cycle_start(at, anchor)::text AS start
              FROM unnest(${cases.map((c) => c.at.toISOString())}::timestamptz[], ${cases.map((c) => c.anchorDay)}::int[])
                WITH ORDINALITY AS input (at, anchor, n)
              ORDER BY n
            `.execute(database.db.kysely);
            const expected = cases.map((c) => cycleContaining(c).start.toISOString().slice(0, 10));
            expect(result.rows.map((row) => row.start)).toEqual(expected);
          },
        ),
        { numRuns: 20 },
      );
    });

    it("the database's cycle of an organization agrees with domain/cycles.ts around changes of anchor day", async () => {
      const day = (at: Date | undefined) => at?.toISOString().slice(0, 10) ?? null;
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 31 }),
          fc.array(
            fc.record({
              afterDays: fc.integer({ min: 0, max: 40 }),
              anchorDay: fc.integer({ min: 1, max: 31 }),
            }),
            {
              minLength: 1,
              maxLength: 4,
            },
          ),
          fc.date({
            min: new Date("2024-01-01T00:00:00Z"),
            max: new Date("2029-01-01T00:00:00Z"),
            noInvalidDate: true,
          }),
          fc.array(fc.integer({ min: -120 * 86_400_000, max: 120 * 86_400_000 }), {
            minLength: 1,
            maxLength: 50,
          }),
          async (firstAnchor, changes, startAt, offsets) => {
            let schedule: CycleSchedule = { anchorDay: firstAnchor, bridge: null, beforeBridge: null };
            let now = startAt.getTime();
            for (const change of changes) {
              now += change.afterDays * 86_400_000;
              schedule = moveAnchor({ schedule, anchorDay: change.anchorDay, now: new Date(now) });
            }
            const ats = offsets.map((offset) => new Date(now + offset));
            const result = await sql<{ start: string }>`
              SELECT meterline_org_cycle_start(at, ${schedule.anchorDay}::integer, ${day(schedule.bridge?.start)}::date,
                ${day(schedule.bridge?.end)}::date, ${day(schedule.beforeBridge ?? undefined)}::date)::text AS start
              FROM unnest(${ats.map((at) => at.toISOString())}::timestamptz[]) WITH ORDINALITY AS input (at, n)
              ORDER BY n
            `.execute(database.db.kysely);
            expect(result.rows.map((row) => row.start)).toEqual(
              ats.map((at) => day(cycleAt({ at, schedule }).start)),
            );
          },
        ),
        { numRuns: 20 },
      );
    });

    it.runIf(engine === "postgres")(
      "a check in another process sees usage written here within a second (LISTEN/NOTIFY)",
      async () => {
        // A second connection pool to the same database plays the other API process.
        const second = await openDatabase(database.config);
        const { cache: remote, stop } = await startEntitlementCache({
          db: second,
          catalog,
          clock: systemClock,
        });
        try {
          const { user } = await signUp({
            db: database.db.kysely,
            email: `listen-${Date.now()}@example.com`,
            password: "correct horse battery",
            name: "L",
            now: new Date(),
          });
          const org = await createOrg({
            db: database.db.kysely,
            owner: user,
            name: "L",
            trialDays: 15,
            now: new Date(),
          });
          expect((await remote.check(org.id, "serve_update")).allowed).toBe(true);
          const events = Array.from({ length: 2_001 }, (_, i) => ({
            id: `d-${i}`,
            org_id: org.id,
            app_id: "app",
            metric: "mau",
            device_id: `device-${i}`,
            timestamp: new Date().toISOString(),
          }));
          for (let start = 0; start < events.length; start += 1000) {
            await recordUsage({
              db: database.db.kysely,
              keyOrgId: null,
              events: events.slice(start, start + 1000),
              now: new Date(),
            });
          }
          const written = Date.now();
          let answer = await remote.check(org.id, "serve_update");
          while (answer.allowed && Date.now() - written < 1000) {
            await new Promise((resolve) => setTimeout(resolve, 10));
            answer = await remote.check(org.id, "serve_update");
          }
          expect(answer).toMatchObject({ allowed: false, reason: "mau_quota_exceeded" });
        } finally {
          await stop();
          await second.close();
        }
      },
    );

    it("counts a device once per cycle however many batches and apps report it", async () => {
      const { user } = await signUp({
        db: database.db.kysely,
        email: `agg-${Date.now()}@example.com`,
        password: "correct horse battery",
        name: "A",
        now: new Date(),
      });
      const org = await createOrg({
        db: database.db.kysely,
        owner: user,
        name: "A",
        trialDays: 15,
        now: new Date(),
      });
      const batch = (prefix: string, app: string) =>
        Array.from({ length: 100 }, (_, i) => ({
          id: `${prefix}-${i}`,
          org_id: org.id,
          app_id: app,
          metric: "mau",
          device_id: `device-${i % 40}`,
          timestamp: new Date().toISOString(),
        }));
      await Promise.all([
        recordUsage({ db: database.db.kysely, keyOrgId: null, events: batch("a", "ios"), now: new Date() }),
        recordUsage({
          db: database.db.kysely,
          keyOrgId: null,
          events: batch("b", "android"),
          now: new Date(),
        }),
      ]);
      const cache = new EntitlementCache({ db: database.db.kysely, catalog, clock: systemClock });
      expect((await cache.get(org.id)).report.raw.mauDevices).toBe(40n);
    });
  });
}
