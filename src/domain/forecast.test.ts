import { describe, expect, it } from "vitest";
import { buildCatalog, findPlan } from "./catalog.js";
import { cycleContaining } from "./cycles.js";
import { type DayUse, forecastUsage, reachedWithin, withoutOneOff } from "./forecast.js";
import { toNumber } from "./quantity.js";
import { GIB, measureUsage, type RawUsage } from "./usage.js";

const catalog = buildCatalog();
// November 2026: 30 days.
const cycle = cycleContaining({ at: new Date("2026-11-11T00:00:00Z"), anchorDay: 1 });
const none: RawUsage = {
  mauDevices: 0n,
  bandwidthBytes: 0n,
  buildSeconds: 0n,
  storageByteMs: 0n,
  storageCurrentBytes: 0n,
};

/** Days of November from `first` on, with the values given. */
const days = (first: number, values: bigint[]): DayUse[] =>
  values.map((value, index) => ({ day: `2026-11-${String(first + index).padStart(2, "0")}`, value }));
const sum = (points: DayUse[]) => points.reduce((total, point) => total + point.value, 0n);

function forecast({
  plan = "solo",
  now,
  usage = {},
  daily = {},
}: {
  plan?: string;
  now: string;
  usage?: Partial<RawUsage>;
  daily?: Partial<Record<"mau" | "bandwidth" | "build_minutes", DayUse[]>>;
}) {
  const raw = { ...none, ...usage };
  const quotas = findPlan(catalog, plan)?.quotas ?? null;
  const measured = measureUsage({ usage: raw, quotas, cycle, tiers: catalog.creditTiers });
  return forecastUsage({
    measured,
    raw,
    daily: { mau: [], bandwidth: [], build_minutes: [], ...daily },
    cycle,
    now: new Date(now),
  });
}

describe("forecastUsage", () => {
  it("projects MAU by the devices new each day, not by a straight line of the total", () => {
    // 9,000 devices on the 1st (returning ones), then 100 new a day through the 10th.
    const mau = days(1, [9_000n, ...Array<bigint>(9).fill(100n)]);
    const { mau: projection } = forecast({
      plan: "maker",
      now: "2026-11-11T00:00:00Z",
      usage: { mauDevices: sum(mau) },
      daily: { mau },
    });
    expect(projection.method).toBe("new_devices");
    expect(toNumber(projection.dailyRate ?? { numerator: 0n, denominator: 1n })).toBe(100);
    // 9,900 + 100 × 20 days left; a straight line would say 29,700.
    expect(toNumber(projection.atCycleEnd)).toBe(11_900);
    // 100 more reach Maker's 10,000 a day later.
    expect(projection.reachesQuotaAt?.toISOString()).toBe("2026-11-12T00:00:00.000Z");
  });

  it("keeps a saturated MAU where it is: no new devices lately, no growth", () => {
    const mau = days(1, [12_000n]);
    const { mau: projection } = forecast({
      now: "2026-11-20T15:00:00Z",
      usage: { mauDevices: 12_000n },
      daily: { mau },
    });
    expect(projection.method).toBe("new_devices");
    expect(toNumber(projection.atCycleEnd)).toBe(12_000);
    expect(projection.reachesQuotaAt).toBeNull();
  });

  it("leaves a one-off day out of the new-device rate", () => {
    // 12,000 devices on the 8th alone, none on the other days of the last week.
    const mau = days(8, [12_000n]);
    const { mau: projection } = forecast({
      now: "2026-11-12T09:00:00Z",
      usage: { mauDevices: 12_000n },
      daily: { mau },
    });
    expect(toNumber(projection.atCycleEnd)).toBe(12_000);
    expect(toNumber(projection.dailyRate ?? { numerator: 1n, denominator: 1n })).toBe(0);
  });

  it("counts days without use as zero in the mean", () => {
    // 700 new devices on the 9th and on the 10th only: 1,400 over the 7 days from the 4th.
    const mau = days(1, [1_000n]).concat(days(9, [700n, 700n]));
    const { mau: projection } = forecast({
      plan: "maker",
      now: "2026-11-11T00:00:00Z",
      usage: { mauDevices: 2_400n },
      daily: { mau },
    });
    expect(toNumber(projection.dailyRate ?? { numerator: 0n, denominator: 1n })).toBe(200);
    expect(toNumber(projection.atCycleEnd)).toBe(2_400 + 200 * 20);
  });

  it("says MAU is what has been seen while no day of new devices is complete", () => {
    const { mau: projection } = forecast({
      now: "2026-11-02T12:00:00Z",
      usage: { mauDevices: 3_000n },
      daily: { mau: days(1, [2_500n, 500n]) },
    });
    expect(projection.method).toBe("seen_so_far");
    expect(toNumber(projection.atCycleEnd)).toBe(3_000);
    expect(projection.reachesQuotaAt).toBeNull();
  });

  it.each([
    {
      name: "2 GiB a day for a week, 20 GiB so far, 20 days left",
      now: "2026-11-11T00:00:00Z",
      daily: days(1, Array<bigint>(10).fill(2n * GIB)),
      method: "recent_rate",
      atEnd: 60,
      reached: null,
    },
    {
      name: "a one-off day of 100 GiB among days of 1 GiB",
      now: "2026-11-11T00:00:00Z",
      daily: days(1, [GIB, GIB, GIB, GIB, 100n * GIB, GIB, GIB, GIB, GIB, GIB]),
      method: "recent_rate",
      atEnd: 109 + 20,
      reached: null,
    },
    {
      name: "the cycle's first day: the rate so far",
      now: "2026-11-01T12:00:00Z",
      daily: days(1, [GIB / 4n]),
      method: "cycle_average",
      atEnd: 15,
      reached: "2026-11-27T00:00:00.000Z",
    },
  ])("bandwidth: $name", ({ now, daily, method, atEnd, reached }) => {
    const { bandwidth } = forecast({
      now,
      usage: { bandwidthBytes: sum(daily) },
      daily: { bandwidth: daily },
    });
    expect(bandwidth.method).toBe(method);
    expect(toNumber(bandwidth.atCycleEnd)).toBe(atEnd);
    // Solo includes 13 GiB: already passed in the first two (no date), reached later in the third.
    expect(bandwidth.reachesQuotaAt?.toISOString() ?? null).toBe(reached);
  });

  it("gives when the quota is reached even after the cycle, and within it only when it is", () => {
    // 0.25 GiB a day on a 13 GiB quota, 2.5 GiB so far: 42 days more.
    const daily = days(1, Array<bigint>(10).fill(GIB / 4n));
    const { bandwidth } = forecast({
      now: "2026-11-11T00:00:00Z",
      usage: { bandwidthBytes: sum(daily) },
      daily: { bandwidth: daily },
    });
    expect(bandwidth.reachesQuotaAt?.toISOString()).toBe("2026-12-23T00:00:00.000Z");
    expect(reachedWithin(bandwidth, cycle)).toBeNull();
    expect(toNumber(bandwidth.atCycleEnd)).toBe(7.5);
  });

  it("projects build minutes from build seconds a day", () => {
    // 30 minutes a day for 10 days: 300 used, 900 at the end; Solo's 60 are long passed.
    const daily = days(1, Array<bigint>(10).fill(1_800n));
    const { build_minutes } = forecast({
      now: "2026-11-11T00:00:00Z",
      usage: { buildSeconds: sum(daily) },
      daily: { build_minutes: daily },
    });
    expect(build_minutes.method).toBe("recent_rate");
    expect(toNumber(build_minutes.atCycleEnd)).toBe(900);
  });

  it("holds today's stored bytes to the cycle's end", () => {
    // 2 GiB held for the 10 days so far: 2/3 of a GiB-month, 2 at the end, 1 reached on the 16th.
    const { storage } = forecast({
      now: "2026-11-11T00:00:00Z",
      usage: { storageByteMs: 2n * GIB * 10n * 86_400_000n, storageCurrentBytes: 2n * GIB },
    });
    expect(storage.method).toBe("storage_held");
    expect(storage.dailyRate).toBeNull();
    expect(toNumber(storage.atCycleEnd)).toBe(2);
    expect(storage.reachesQuotaAt?.toISOString()).toBe("2026-11-16T00:00:00.000Z");
  });
});

describe("withoutOneOff", () => {
  it.each([
    { name: "one day among empty ones", values: [0n, 0n, 12_000n, 0n], kept: [0n, 0n, 0n] },
    { name: "steady days", values: [100n, 120n, 110n], kept: [100n, 120n, 110n] },
    { name: "growth", values: [100n, 130n, 170n, 220n, 290n], kept: [100n, 130n, 170n, 220n, 290n] },
    { name: "just more than the rest together", values: [10n, 10n, 21n], kept: [10n, 10n] },
    { name: "exactly the rest together", values: [10n, 10n, 20n], kept: [10n, 10n, 20n] },
    { name: "two busy days", values: [0n, 0n, 0n, 700n, 700n], kept: [0n, 0n, 0n, 700n, 700n] },
    { name: "too few days to tell", values: [0n, 500n], kept: [0n, 500n] },
    { name: "nothing at all", values: [0n, 0n, 0n], kept: [0n, 0n, 0n] },
  ])("$name", ({ values, kept }) => {
    expect(withoutOneOff(values)).toEqual(kept);
  });
});
