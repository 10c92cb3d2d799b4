import fc from "fast-check";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { saveCustomerId } from "../src/db/subscriptionRepo.js";
import { buildCatalog } from "../src/domain/catalog.js";
import { minBig } from "../src/domain/money.js";
import { anchorDayOf } from "../src/domain/subscriptions.js";
import { createOrg } from "../src/services/accounts/createOrg.js";
import { signUp } from "../src/services/accounts/signUp.js";
import { fulfillCreditPurchase } from "../src/services/credits/buyCredits.js";
import { consumeOverage } from "../src/services/credits/consumeOverage.js";
import { defaultGrantExpiry, grantCredits } from "../src/services/credits/creditGrants.js";
import { expireCredits } from "../src/services/credits/expireCredits.js";
import { readCreditEntries, readCredits } from "../src/services/credits/readCredits.js";
import { refundCredits } from "../src/services/credits/refundCredits.js";
import { refreshSubscription } from "../src/services/subscriptions/syncOrgSubscription.js";
import { recordUsage } from "../src/services/usage/recordUsage.js";
import type { StripeGateway, StripeSubscriptionFacts } from "../src/stripe/gateway.js";
import { availableEngines, createTestDatabase, type TestDatabase } from "./support/databases.js";

const engines = await availableEngines();
/** Operations per sequence: short in `npm test`, long in `npm run test:long` (MODEL_MAX_OPS). */
const MAX_OPS = Number(process.env.MODEL_MAX_OPS ?? 14);
const RUNS = Number(process.env.MODEL_RUNS ?? 25);
let checked = 0;
const catalog = buildCatalog();
const MINUTE = 60_000;
const TRIAL_MAU = 2_000n;
const planMau = (plan: string) =>
  BigInt(catalog.plans.find((candidate) => candidate.id === plan)?.quotas.mau ?? 0);
const MICROS_PER_MAU = 3_000n; // the first MAU tier, 0.003 credit: the model stays inside it

type Op =
  | { kind: "grant"; credits: number; expiresInMinutes: number }
  | { kind: "purchase"; credits: number }
  | { kind: "plan"; plan: "solo" | "maker" | "team" }
  | { kind: "subscribe"; plan: "solo" | "maker" | "team"; anchorDay: number }
  | { kind: "reset"; anchorDay: number }
  | { kind: "cancel" }
  | { kind: "refund"; purchase: number; percent: number }
  | { kind: "usage"; devices: number }
  | { kind: "wait"; minutes: number }
  | { kind: "expire" };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant("grant" as const),
    credits: fc.integer({ min: 1, max: 20 }),
    expiresInMinutes: fc.integer({ min: 1, max: 90 }),
  }),
  fc.record({ kind: fc.constant("purchase" as const), credits: fc.integer({ min: 1, max: 20 }) }),
  fc.record({
    kind: fc.constant("plan" as const),
    plan: fc.constantFrom("solo" as const, "maker" as const, "team" as const),
  }),
  // Trial → paid, a period restarted on another day (a change of interval), paid → canceled: each
  // moves the billing cycle's anchor day, which must neither charge the cycle's overage again nor
  // forget what it owes.
  fc.record({
    kind: fc.constant("subscribe" as const),
    plan: fc.constantFrom("solo" as const, "maker" as const, "team" as const),
    anchorDay: fc.integer({ min: 1, max: 31 }),
  }),
  fc.record({ kind: fc.constant("reset" as const), anchorDay: fc.integer({ min: 1, max: 31 }) }),
  fc.record({ kind: fc.constant("cancel" as const) }),
  fc.record({
    kind: fc.constant("refund" as const),
    purchase: fc.nat({ max: 9 }),
    percent: fc.integer({ min: 1, max: 100 }),
  }),
  fc.record({ kind: fc.constant("usage" as const), devices: fc.integer({ min: 1, max: 1_500 }) }),
  fc.record({ kind: fc.constant("wait" as const), minutes: fc.integer({ min: 1, max: 30 }) }),
  fc.record({ kind: fc.constant("expire" as const) }),
);

/**
 * A run that always comes first: overage charged and owed on the trial, then every move of the
 * billing cycle's anchor day with usage around each, and credits arriving after.
 */
const cycleMoves: Op[] = [
  { kind: "grant", credits: 4, expiresInMinutes: 90 },
  { kind: "usage", devices: 1_500 },
  { kind: "usage", devices: 1_500 },
  { kind: "subscribe", plan: "solo", anchorDay: 20 },
  { kind: "usage", devices: 200 },
  { kind: "reset", anchorDay: 3 },
  { kind: "usage", devices: 200 },
  { kind: "cancel" },
  { kind: "usage", devices: 100 },
  { kind: "grant", credits: 5, expiresInMinutes: 60 },
  { kind: "subscribe", plan: "solo", anchorDay: 31 },
  { kind: "usage", devices: 100 },
  { kind: "plan", plan: "maker" },
  { kind: "usage", devices: 10_000 },
];

/** The plain in-memory model: grants, what the cycle's MAU overage costs, what was paid. */
class Model {
  grants: { amount: bigint; remaining: bigint; expiresAt: number; createdAt: number; seq: number }[] = [];
  /** Purchases: their grant, what was paid and refunded (cents), and what refunds took back. */
  purchases: { grant: number; paidCents: bigint; refundedCents: bigint; takenBack: bigint }[] = [];
  devices = 0n;
  /** MAU included by the plan: the trial's until a plan is chosen. */
  included = TRIAL_MAU;
  charged = 0n;
  balance = 0n;
  #seq = 0;

  grant(credits: number, at: number, expiresAt: number) {
    const amount = BigInt(credits) * 1_000_000n;
    this.grants.push({ amount, remaining: amount, expiresAt, createdAt: at, seq: this.#seq++ });
    this.balance += amount;
  }

  purchase(credits: number, at: number, expiresAt: number) {
    this.grant(credits, at, expiresAt);
    this.purchases.push({
      grant: this.grants.length - 1,
      paidCents: BigInt(credits) * 100n,
      refundedCents: 0n,
      takenBack: 0n,
    });
  }

  /** A refund of the charge's total so far: its share of the credits, less what was taken, capped by what is left. */
  refund(index: number, refundedCents: bigint) {
    const purchase = this.purchases[index];
    const grant = purchase && this.grants[purchase.grant];
    if (!purchase || !grant) return;
    purchase.refundedCents = refundedCents;
    const owed = (grant.amount * refundedCents) / purchase.paidCents - purchase.takenBack;
    const take = minBig(grant.remaining, owed);
    if (take <= 0n) return;
    grant.remaining -= take;
    this.balance -= take;
    purchase.takenBack += take;
  }

  consume(at: number) {
    const over = this.devices > this.included ? this.devices - this.included : 0n;
    let owed = over * MICROS_PER_MAU - this.charged;
    const usable = this.grants
      .filter((g) => g.remaining > 0n && g.expiresAt > at)
      .sort((a, b) => a.expiresAt - b.expiresAt || a.createdAt - b.createdAt || a.seq - b.seq);
    for (const grant of usable) {
      if (owed <= 0n) break;
      const take = minBig(grant.remaining, owed);
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

type Session = NonNullable<Awaited<ReturnType<StripeGateway["retrieveCreditCheckout"]>>>;
type Charge = Awaited<ReturnType<StripeGateway["retrieveCharge"]>>;

/**
 * What Stripe would answer about the run's paid credit checkouts and their refunds: the ledger
 * is what is under test here; the route suites run the same services against the emulator.
 */
class StripeFacts {
  readonly #sessions = new Map<string, Session>();
  readonly #charges: Charge[] = [];
  #subscription: StripeSubscriptionFacts | null = null;

  constructor(readonly customerId: string) {}

  /** The organization's one subscription, as Stripe would list it after the change. */
  subscribe({ plan, anchorDay, at, step }: { plan: string; anchorDay: number; at: Date; step: number }) {
    // Any instant on the anchor day stands for it: January has every day of the month.
    const anchor = new Date(Date.UTC(2026, 0, anchorDay, 12));
    this.#subscription = {
      id: `sub_model_${step}`,
      customerId: this.customerId,
      status: "active",
      itemId: "si_model",
      priceId: `price_${plan}_month`,
      plan,
      interval: "month",
      currentPeriodStart: at,
      currentPeriodEnd: new Date(at.getTime() + 30 * 86_400_000),
      billingCycleAnchor: anchor,
      cancelAtPeriodEnd: false,
      created: at,
    };
  }

  /** The live subscription, or null when there is none to change. */
  get live(): StripeSubscriptionFacts | null {
    return this.#subscription?.status === "active" ? this.#subscription : null;
  }

  cancel() {
    if (this.#subscription) this.#subscription = { ...this.#subscription, status: "canceled" };
  }

  async listSubscriptions(customerId: string) {
    return this.#subscription && customerId === this.#subscription.customerId
      ? [{ ...this.#subscription }]
      : [];
  }

  paidCheckout({ orgId, credits, step }: { orgId: string; credits: number; step: number }): string {
    const id = `cs_model_${step}`;
    const cents = credits * 100;
    this.#sessions.set(id, {
      id,
      orgId,
      mode: "payment",
      status: "complete",
      paymentStatus: "paid",
      purpose: "credits",
      currency: "usd",
      amountSubtotal: cents,
      quantity: credits,
      unitAmount: 100,
      paymentIntentId: `pi_model_${step}`,
      amountTotal: cents,
    } as Session);
    this.#charges.push({
      id: `ch_model_${step}`,
      paymentIntentId: `pi_model_${step}`,
      customerId: null,
      amount: cents,
      amountRefunded: 0,
      currency: "usd",
    });
    return id;
  }

  /** Refunds `percent` more of a purchase's charge (up to all of it); undefined when nothing changes. */
  refund(index: number, percent: number): Charge | undefined {
    const charge = this.#charges[index];
    if (!charge || charge.amountRefunded === charge.amount) return undefined;
    charge.amountRefunded = Math.min(
      charge.amount,
      charge.amountRefunded + Math.ceil((charge.amount * percent) / 100),
    );
    return { ...charge };
  }

  async retrieveCreditCheckout(id: string) {
    return this.#sessions.get(id) ?? null;
  }

  async retrieveCharge(id: string) {
    const charge = this.#charges.find((known) => known.id === id);
    if (!charge) throw new Error(`no charge ${id}`);
    return { ...charge };
  }
}

for (const engine of engines) {
  describe(`credit ledger against a model [${engine}]`, () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await createTestDatabase(engine);
    });
    afterAll(() => database.drop());

    let owner: Awaited<ReturnType<typeof signUp>>["user"] | undefined;

    /** A new organization for each sequence, all of one owner (signing up is slow by design). */
    async function newOrg() {
      const db = database.db.kysely;
      const now = new Date();
      owner ??= (
        await signUp({
          db,
          email: `model-${Date.now()}@example.com`,
          password: "correct horse battery",
          name: "M",
          now,
        })
      ).user;
      const org = await createOrg({ db, owner, name: "M", trialDays: 15, now });
      await saveCustomerId(db, { orgId: org.id, customerId: `cus_${org.id}` });
      return org;
    }

    /** Runs the operations on a new org, checking it against the model after each; answers its ledger. */
    async function run(ops: Op[], start: number) {
      const db = database.db.kysely;
      const org = await newOrg();
      const model = new Model();
      const stripe = new StripeFacts(`cus_${org.id}`);
      let at = start;
      let device = 0;
      for (const [step, next] of ops.entries()) {
        const now = new Date(at);
        if (next.kind === "purchase") {
          const sessionId = stripe.paidCheckout({ orgId: org.id, credits: next.credits, step });
          await fulfillCreditPurchase({
            db,
            stripe,
            catalog,
            orgId: org.id,
            sessionId,
            supportEmail: "support@meterline.test",
            now,
          });
          model.purchase(next.credits, at, defaultGrantExpiry(now).getTime());
          await consumeOverage({ db, catalog, orgId: org.id, now });
          model.consume(at);
        } else if (next.kind === "refund") {
          const index = model.purchases.length ? next.purchase % model.purchases.length : -1;
          const charge = stripe.refund(index, next.percent);
          if (charge) {
            await refundCredits({ db, stripe, orgId: org.id, chargeId: charge.id, now });
            model.refund(index, BigInt(charge.amountRefunded));
          }
        } else if (
          next.kind === "plan" ||
          next.kind === "subscribe" ||
          next.kind === "reset" ||
          next.kind === "cancel"
        ) {
          const live = stripe.live;
          const anchorDay = live ? anchorDayOf(live.billingCycleAnchor) : 1;
          if (next.kind === "plan") {
            stripe.subscribe({ plan: next.plan, anchorDay, at: now, step });
          } else if (next.kind === "subscribe") {
            stripe.subscribe({ plan: next.plan, anchorDay: next.anchorDay, at: now, step });
          } else if (next.kind === "reset" && live?.plan) {
            stripe.subscribe({ plan: live.plan, anchorDay: next.anchorDay, at: now, step });
          } else if (next.kind === "cancel") {
            stripe.cancel();
          }
          // What the webhook does when Stripe tells of the change: converge on Stripe's answer.
          await refreshSubscription({ db, stripe, catalog, orgId: org.id, now });
          // The trial outlasts every sequence: a canceled plan falls back to the trial's quota.
          model.included = stripe.live?.plan ? planMau(stripe.live.plan) : TRIAL_MAU;
          await consumeOverage({ db, catalog, orgId: org.id, now });
          model.consume(at);
        } else if (next.kind === "grant") {
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
        checked += 1;
        const figures = await readCredits({ db, catalog, orgId: org.id, now: new Date(at) });
        expect(figures.available, `step ${step}: ${JSON.stringify(next)}`).toBe(model.available(at));
        expect(figures.balance, `step ${step}`).toBe(model.balance);
        // Ledger invariants: balance = Σ entries, and no entry left it below zero.
        const ledger = await sql<{ total: string; lowest: string }>`
          SELECT coalesce(sum(amount), 0)::text AS total, coalesce(min(balance_after), 0)::text AS lowest
          FROM credit_entries WHERE org_id = ${org.id}
        `.execute(db);
        expect(BigInt(ledger.rows[0]?.total ?? -1)).toBe(figures.balance);
        expect(BigInt(ledger.rows[0]?.lowest ?? -1)).toBeGreaterThanOrEqual(0n);
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

    it(
      "answers as the model does after every step, and replaying the inputs gives the same ledger",
      async () => {
        // Inside one billing cycle: the steps span at most a few hours from the start of a day.
        const day = new Date();
        const start = Date.UTC(
          day.getUTCFullYear(),
          day.getUTCMonth(),
          day.getUTCDate() > 20 ? 10 : day.getUTCDate(),
          1,
        );
        checked = 0;
        await fc.assert(
          fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: MAX_OPS, size: "max" }), async (ops) => {
            const first = await run(ops, start);
            const replay = await run(ops, start);
            expect(replay).toEqual(first);
          }),
          { numRuns: RUNS, examples: [[cycleMoves]] },
        );
        console.info(`credit ledger [${engine}]: ${checked} operations checked against the model`);
      },
      Math.max(240_000, RUNS * MAX_OPS * 200),
    );
  });
}
