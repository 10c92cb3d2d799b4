import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Advice, advisePlans, isWorthMailing } from "./advisor.js";
import { buildCatalog, findPlan, type Interval } from "./catalog.js";
import { cycleContaining } from "./cycles.js";
import { type DayUse, forecastUsage } from "./forecast.js";
import { formatUsd, parseCredits } from "./money.js";
import { type Quantity, toNumber, whole } from "./quantity.js";
import { tieredCostMicros } from "./tierPricing.js";
import { GIB, measureUsage, type RawUsage } from "./usage.js";
import type { Metric } from "./usageEvents.js";

const catalog = buildCatalog();
const tiers = catalog.creditTiers;
// November 2026 (30 days); now is the 20th at noon: 19 complete days, 10.5 left.
const cycle = cycleContaining({ at: new Date("2026-11-20T12:00:00Z"), anchorDay: 1 });
const now = new Date("2026-11-20T12:00:00Z");

interface Current {
  plan: string;
  interval: Interval | null;
  trial: boolean;
}
const soloTrial: Current = { plan: "solo", interval: null, trial: true };

/**
 * Advice for an organization whose devices this cycle are `mau` (new devices per day of
 * November, from the 1st) and whose previous cycles had `history` MAU, most recent first.
 */
function advise({ mau, history, current }: { mau: bigint[]; history: bigint[]; current: Current | null }) {
  const daily: DayUse[] = mau.map((value, index) => ({
    day: `2026-11-${String(index + 1).padStart(2, "0")}`,
    value,
  }));
  const raw: RawUsage = {
    mauDevices: mau.reduce((total, value) => total + value, 0n),
    bandwidthBytes: 0n,
    buildSeconds: 0n,
    storageByteMs: 0n,
    storageCurrentBytes: 0n,
  };
  const quotas = current ? (findPlan(catalog, current.plan)?.quotas ?? null) : null;
  const measured = measureUsage({ usage: raw, quotas, cycle, tiers });
  const forecast = forecastUsage({
    measured,
    raw,
    daily: { mau: daily, bandwidth: [], build_minutes: [] },
    cycle,
    now,
  });
  return advisePlans({
    plans: catalog.plans,
    tiers,
    projected: {
      mau: forecast.mau.atCycleEnd,
      bandwidth: forecast.bandwidth.atCycleEnd,
      storage: forecast.storage.atCycleEnd,
      build_minutes: forecast.build_minutes.atCycleEnd,
    },
    current,
    history: { mau: history.map(whole), bandwidth: [], build_minutes: [] },
    daily: { mau: daily, bandwidth: [], build_minutes: [] },
    raw: { mau: raw.mauDevices, bandwidth: 0n, build_minutes: 0n },
    cycle,
    now,
  });
}

/** `count` days of `value` new devices. */
const each = (count: number, value: bigint) => Array<bigint>(count).fill(value);
const option = (advice: Advice, plan: string, interval: Interval) =>
  advice.options.find((o) => o.plan === plan && o.interval === interval);

describe("advisePlans: usage histories and what they are advised", () => {
  it.each([
    {
      name: "flat: 12,000 MAU every cycle, on a Solo subscription",
      current: { plan: "solo", interval: "month", trial: false } as Current,
      history: [12_000n, 12_000n, 12_000n],
      // 11,100 come back on the 1st, then 50 new a day.
      mau: [11_100n, ...each(18, 50n), 25n],
      recommended: { plan: "maker", interval: "year" },
      spike: null,
    },
    {
      name: "growing: 3,000 → 6,000 → 9,000 → ~14,000, on the Solo trial",
      current: soloTrial,
      history: [9_000n, 6_000n, 3_000n],
      mau: [8_000n, ...each(18, 200n), 100n],
      recommended: { plan: "maker", interval: "year" },
      spike: null,
    },
    {
      name: "one-off spike: 1,000 MAU a cycle, then 11,000 new devices in one day",
      current: { plan: "solo", interval: "month", trial: false } as Current,
      history: [1_000n, 1_000n, 1_000n],
      mau: [1_000n, ...each(10, 0n), 11_000n, ...each(8, 0n)],
      recommended: { plan: "solo", interval: "month" },
      spike: "above_history",
    },
    {
      name: "one-off spike with no history: 12,000 devices on the 12th alone",
      current: soloTrial,
      history: [0n, 0n, 0n],
      mau: [...each(11, 0n), 12_000n, ...each(8, 0n)],
      recommended: { plan: "solo", interval: "month" },
      spike: "one_day",
    },
    {
      name: "seasonal peak: 1,500 MAU in quiet cycles, then the busy season's 600 new a day",
      current: { plan: "solo", interval: "year", trial: false } as Current,
      history: [1_500n, 1_500n, 1_500n],
      mau: [1_500n, ...each(18, 600n), 300n],
      recommended: { plan: "solo", interval: "year" },
      spike: "above_history",
    },
    {
      name: "seasonal trough: 12,000 MAU in busy cycles, then a quiet 1,500 on Maker",
      current: { plan: "maker", interval: "year", trial: false } as Current,
      history: [12_000n, 12_000n, 12_000n],
      mau: [1_500n, ...each(19, 0n)],
      recommended: { plan: "solo", interval: "year" },
      spike: null,
    },
    {
      name: "lasting growth past Team's quota: 90,000 → 105,000 → 120,000",
      current: { plan: "team", interval: "month", trial: false } as Current,
      history: [105_000n, 90_000n, 75_000n],
      mau: [110_000n, ...each(18, 600n), 300n],
      recommended: { plan: "team", interval: "year" },
      spike: null,
    },
  ])("$name", ({ current, history, mau, recommended, spike }) => {
    const advice = advise({ mau, history, current });
    expect(advice.recommended).toMatchObject(recommended);
    expect(advice.spike?.kind ?? null).toBe(spike);
    expect(advice.recommended.reason.length).toBeGreaterThan(20);
    // Never a recommendation that costs more than the current option, but for a spike, which
    // keeps the current plan.
    if (advice.current && !spike) {
      const chosen = option(advice, recommended.plan, recommended.interval as Interval);
      expect(chosen?.totalMicros).toBeLessThanOrEqual(advice.current.totalMicros);
    }
  });

  it("prices the Solo trial at 12,000 MAU: Solo + 30 credits = 44.00; Maker 39.00 + 6 credits, or 31.20 a month yearly", () => {
    const advice = advise({ mau: [...each(19, 0n), 12_000n], history: [], current: soloTrial });
    const figures = (plan: string, interval: Interval) => {
      const cost = option(advice, plan, interval);
      return cost && [formatUsd(cost.baseMicros), formatUsd(cost.overageMicros), formatUsd(cost.totalMicros)];
    };
    expect(figures("solo", "month")).toEqual(["14.00", "30.00", "44.00"]);
    expect(figures("solo", "year")).toEqual(["11.20", "30.00", "41.20"]);
    // Maker includes 10,000 MAU: the 2,000 above cost 6 credits.
    expect(figures("maker", "month")).toEqual(["39.00", "6.00", "45.00"]);
    expect(figures("maker", "year")).toEqual(["31.20", "6.00", "37.20"]);
    expect(figures("team", "month")).toEqual(["99.00", "0.00", "99.00"]);
    expect(figures("enterprise", "year")).toEqual(["199.20", "0.00", "199.20"]);
    expect(advice.current).toMatchObject({ plan: "solo", interval: "month", trial: true });
    expect(advice.recommended).toMatchObject({ plan: "maker", interval: "year" });
    expect(advice.recommended.reason).toBe(
      "Maker costs least for the projected usage: 37.20 USD a month billed yearly (45.00 monthly) " +
        "with 6.00 credits of overage, against 44.00 USD on the Solo trial with 30.00 credits of overage.",
    );
    expect(advice.savingPercent).toBe(15);
    expect(isWorthMailing(advice)).toBe(true);
  });

  it("advises credits for the same 12,000 MAU when they came in one past day", () => {
    const advice = advise({
      mau: [...each(11, 0n), 12_000n, ...each(8, 0n)],
      history: [],
      current: soloTrial,
    });
    expect(option(advice, "solo", "month")?.totalMicros).toBe(44_000_000n);
    expect(advice.recommended).toMatchObject({ plan: "solo", interval: "month" });
    expect(advice.spike).toEqual({ metric: "mau", kind: "one_day", day: "2026-11-12", percent: 100 });
    expect(advice.recommended.reason).toContain("spike");
    expect(advice.recommended.reason).toContain("12 November alone holds 100% of this cycle's MAU");
    expect(isWorthMailing(advice)).toBe(false);
  });

  it("does not take the cycle's first day, which holds every returning device, for a spike", () => {
    const advice = advise({ mau: [12_000n, ...each(19, 0n)], history: [], current: soloTrial });
    expect(advice.spike).toBeNull();
    expect(advice.recommended.plan).toBe("maker");
  });

  it("without a plan, advises the cheapest, and a monthly one for a spike", () => {
    const flat = advise({ mau: [12_000n, ...each(19, 0n)], history: [], current: null });
    expect(flat.current).toBeNull();
    expect(flat.recommended).toMatchObject({ plan: "maker", interval: "year" });
    expect(isWorthMailing(flat)).toBe(false);
    const spike = advise({ mau: [...each(11, 0n), 12_000n, ...each(8, 0n)], history: [], current: null });
    expect(spike.recommended).toMatchObject({ plan: "solo", interval: "month" });
  });

  it("mails only another plan saving at least 10%, not another interval of the same plan", () => {
    // On Maker monthly at 9,000 MAU: Maker yearly saves 20% but is the same plan.
    const advice = advise({
      mau: [9_000n, ...each(19, 0n)],
      history: [9_000n],
      current: { plan: "maker", interval: "month", trial: false },
    });
    expect(advice.recommended).toMatchObject({ plan: "maker", interval: "year" });
    expect(advice.savingPercent).toBe(20);
    expect(isWorthMailing(advice)).toBe(false);
  });
});

// The graduated pricing itself is held to the SPEC's tables in tierPricing.test.ts.
const priced = (quantity: Quantity, metric: Metric) => tieredCostMicros({ quantity, tiers: tiers[metric] });

describe("advisePlans: every figure is the tier pricing of the projection", () => {
  it("prices each option as its base plus the graduated cost of each metric's use above its quota", () => {
    fc.assert(
      fc.property(
        fc.record({
          mau: fc.bigInt({ min: 0n, max: 5_000_000n }),
          bandwidthMiB: fc.bigInt({ min: 0n, max: 5_000_000n }),
          storageMiB: fc.bigInt({ min: 0n, max: 100_000n }),
          buildMinutes: fc.bigInt({ min: 0n, max: 30_000n }),
        }),
        ({ mau, bandwidthMiB, storageMiB, buildMinutes }) => {
          const projected = {
            mau: whole(mau),
            bandwidth: { numerator: bandwidthMiB * (GIB / 1024n), denominator: GIB },
            storage: { numerator: storageMiB, denominator: 1024n },
            build_minutes: whole(buildMinutes),
          };
          const advice = advisePlans({
            plans: catalog.plans,
            tiers,
            projected,
            current: soloTrial,
            history: { mau: [], bandwidth: [], build_minutes: [] },
            daily: { mau: [], bandwidth: [], build_minutes: [] },
            raw: { mau: 0n, bandwidth: 0n, build_minutes: 0n },
            cycle,
            now,
          });
          expect(advice.options).toHaveLength(catalog.plans.length * 2);
          for (const cost of advice.options) {
            const plan = findPlan(catalog, cost.plan);
            if (!plan) throw new Error(`unknown plan ${cost.plan}`);
            const over = (used: Quantity, included: number): Quantity => {
              const numerator = used.numerator - BigInt(included) * used.denominator;
              return { numerator: numerator > 0n ? numerator : 0n, denominator: used.denominator };
            };
            const overage =
              priced(over(projected.mau, plan.quotas.mau), "mau") +
              priced(over(projected.bandwidth, plan.quotas.bandwidth_gib), "bandwidth") +
              priced(over(projected.storage, plan.quotas.storage_gib), "storage") +
              priced(over(projected.build_minutes, plan.quotas.build_minutes), "build_minutes");
            const baseCents =
              cost.interval === "month" ? plan.monthlyCents : Math.round(plan.annualCents / 12);
            expect(cost.overageMicros).toBe(overage);
            expect(cost.baseMicros).toBe(BigInt(baseCents) * 10_000n);
            expect(cost.totalMicros).toBe(cost.baseMicros + cost.overageMicros);
          }
          // No spike without history or days: the cheapest is recommended.
          const cheapest = advice.options.reduce((a, b) => (b.totalMicros < a.totalMicros ? b : a));
          const chosen = option(advice, advice.recommended.plan, advice.recommended.interval);
          expect(chosen?.totalMicros).toBe(cheapest.totalMicros);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("prices the SPEC's example: 1,500,000 MAU over quota cost 4,100 credits", () => {
    const advice = advisePlans({
      plans: catalog.plans,
      tiers,
      projected: {
        mau: whole(1_502_000n),
        bandwidth: whole(0n),
        storage: whole(0n),
        build_minutes: whole(0n),
      },
      current: null,
      history: { mau: [], bandwidth: [], build_minutes: [] },
      daily: { mau: [], bandwidth: [], build_minutes: [] },
      raw: { mau: 0n, bandwidth: 0n, build_minutes: 0n },
      cycle,
      now,
    });
    expect(option(advice, "solo", "month")?.overageMicros).toBe(parseCredits("4100"));
    expect(
      toNumber({ numerator: option(advice, "solo", "month")?.totalMicros ?? 0n, denominator: 1_000_000n }),
    ).toBe(4114);
  });
});
