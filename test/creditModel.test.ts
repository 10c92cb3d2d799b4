import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCatalog } from "../src/domain/catalog.js";
import { consumeOverage } from "../src/services/consumeOverage.js";
import { createOrg } from "../src/services/createOrg.js";
import { grantCredits } from "../src/services/creditGrants.js";
import { expireCredits } from "../src/services/expireCredits.js";
import { readCreditEntries, readCredits } from "../src/services/readCredits.js";
import { recordUsage } from "../src/services/recordUsage.js";
import { signUp } from "../src/services/signUp.js";
import { availableEngines, createTestDatabase, type TestDatabase } from "./support/databases.js";

const engines = await availableEngines();
const catalog = buildCatalog();
const MINUTE = 60_000;
const TRIAL_MAU = 2_000n;
const MICROS_PER_MAU = 3_000n; // the first MAU tier, 0.003 credit: the model stays inside it

type Op =
  | { kind: "grant"; credits: number; expiresInMinutes: number }
  | { kind: "usage"; devices: number }
  | { kind: "wait"; minutes: number }
  | { kind: "expire" };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant("grant" as const),
    credits: fc.integer({ min: 1, max: 20 }),
    expiresInMinutes: fc.integer({ min: 1, max: 90 }),
  }),
  fc.record({ kind: fc.constant("usage" as const), devices: fc.integer({ min: 1, max: 1_500 }) }),
  fc.record({ kind: fc.constant("wait" as const), minutes: fc.integer({ min: 1, max: 30 }) }),
  fc.record({ kind: fc.constant("expire" as const) }),
);

/** The plain in-memory model: grants, what the cycle's MAU overage costs, what was paid. */
class Model {
  grants: { amount: bigint; remaining: bigint; expiresAt: number; createdAt: number; seq: number }[] = [];
  devices = 0n;
  charged = 0n;
  balance = 0n;
  #seq = 0;

  grant(credits: number, at: number, expiresAt: number) {
    const amount = BigInt(credits) * 1_000_000n;
    this.grants.push({ amount, remaining: amount, expiresAt, createdAt: at, seq: this.#seq++ });
    this.balance += amount;
  }

  consume(at: number) {
    const over = this.devices > TRIAL_MAU ? this.devices - TRIAL_MAU : 0n;
    let owed = over * MICROS_PER_MAU - this.charged;
    const usable = this.grants
      .filter((g) => g.remaining > 0n && g.expiresAt > at)
      .sort((a, b) => a.expiresAt - b.expiresAt || a.createdAt - b.createdAt || a.seq - b.seq);
    for (const grant of usable) {
      if (owed <= 0n) break;
      const take = grant.remaining < owed ? grant.remaining : owed;
      grant.remaining -= take;
      this.balance -= take;
      this.charged += take;
      owed -= take;
    }
  }

  expire(at: number) {
    for (const grant of this.grants) {
      if (grant.expiresAt <= at && grant.remaining > 0n) {
        this.balance -= grant.remaining;
        grant.remaining = 0n;
      }
    }
  }

  available(at: number) {
    return this.grants.filter((g) => g.expiresAt > at).reduce((sum, g) => sum + g.remaining, 0n);
  }
}

for (const engine of engines) {
  describe(`credit ledger against a model [${engine}]`, () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await createTestDatabase(engine);
    });
    afterAll(() => database.drop());

    async function newOrg() {
      const db = database.db.kysely;
      const now = new Date();
      const { user } = await signUp({
        db,
        email: `model-${Date.now()}-${Math.random().toString(36).slice(2)}@example.com`,
        password: "correct horse battery",
        name: "M",
        now,
      });
      return createOrg({ db, owner: user, name: "M", trialDays: 15, now });
    }

    /** Runs the operations on a new org, checking it against the model after each; answers its ledger. */
    async function run(ops: Op[], start: number) {
      const db = database.db.kysely;
      const org = await newOrg();
      const model = new Model();
      let at = start;
      let device = 0;
      for (const [step, next] of ops.entries()) {
        const now = new Date(at);
        if (next.kind === "grant") {
          const expiresAt = at + next.expiresInMinutes * MINUTE;
          await grantCredits({
            db,
            orgId: org.id,
            amount: BigInt(next.credits) * 1_000_000n,
            expiresAt: new Date(expiresAt),
            note: `step ${step}`,
            idempotencyKey: `step-${step}`,
            now,
          });
          model.grant(next.credits, at, expiresAt);
          await consumeOverage({ db, catalog, orgId: org.id, now });
          model.consume(at);
        } else if (next.kind === "usage") {
          const events = Array.from({ length: next.devices }, () => ({
            id: `d-${device}`,
            org_id: org.id,
            app_id: "app",
            metric: "mau",
            device_id: `device-${device++}`,
            timestamp: now.toISOString(),
          }));
          for (let i = 0; i < events.length; i += 1000) {
            const result = await recordUsage({ db, keyOrgId: null, events: events.slice(i, i + 1000), now });
            expect(result.rejected).toEqual([]);
          }
          model.devices += BigInt(next.devices);
          await consumeOverage({ db, catalog, orgId: org.id, now });
          model.consume(at);
        } else if (next.kind === "wait") {
          at += next.minutes * MINUTE;
        } else {
          await expireCredits({ db, now });
          model.expire(at);
        }
        const figures = await readCredits({ db, catalog, orgId: org.id, now: new Date(at) });
        expect(figures.available, `step ${step}: ${JSON.stringify(next)}`).toBe(model.available(at));
        expect(figures.balance, `step ${step}`).toBe(model.balance);
        const entries = await allEntries(org.id);
        expect(entries.reduce((sum, entry) => sum + BigInt(entry.amount), 0n)).toBe(figures.balance);
        expect(entries.every((entry) => BigInt(entry.balance_after) >= 0n)).toBe(true);
      }
      return (await allEntries(org.id)).map((entry) => [
        entry.type,
        String(entry.amount),
        String(entry.balance_after),
      ]);
    }

    async function allEntries(orgId: string) {
      const { items } = await readCreditEntries({
        db: database.db.kysely,
        orgId,
        cursor: null,
        limit: 10_000,
      });
      return items.reverse();
    }

    it("answers as the model does after every step, and replaying the inputs gives the same ledger", async () => {
      // Inside one billing cycle: the steps span at most a few hours from the start of a day.
      const day = new Date();
      const start = Date.UTC(
        day.getUTCFullYear(),
        day.getUTCMonth(),
        day.getUTCDate() > 20 ? 10 : day.getUTCDate(),
        1,
      );
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 14 }), async (ops) => {
          const first = await run(ops, start);
          const replay = await run(ops, start);
          expect(replay).toEqual(first);
        }),
        { numRuns: Number(process.env.MODEL_RUNS ?? 25) },
      );
    }, 240_000);
  });
}
