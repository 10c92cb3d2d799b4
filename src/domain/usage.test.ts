import { describe, expect, it } from "vitest";
import { buildCatalog, findPlan } from "./catalog.js";
import { cycleContaining } from "./cycles.js";
import { toNumber } from "./quantity.js";
import { GIB, isOverQuota, measureUsage, type RawUsage } from "./usage.js";

const catalog = buildCatalog();
const solo = findPlan(catalog, "solo")?.quotas ?? null;
// November 2026: 30 days.
const cycle = cycleContaining({ at: new Date("2026-11-11T00:00:00Z"), anchorDay: 1 });
const none: RawUsage = {
  mauDevices: 0n,
  bandwidthBytes: 0n,
  buildSeconds: 0n,
  storageByteMs: 0n,
  storageCurrentBytes: 0n,
};
const measure = (usage: Partial<RawUsage>, quotas = solo) =>
  measureUsage({ usage: { ...none, ...usage }, quotas, cycle, tiers: catalog.creditTiers });

describe("measureUsage", () => {
  it("charges the solo trial at 12,000 MAU exactly 30 credits for 10,000 MAU of overage", () => {
    const mau = measure({ mauDevices: 12_000n }).mau;
    expect(toNumber(mau.used)).toBe(12_000);
    expect(toNumber(mau.overage)).toBe(10_000);
    expect(mau.overageCostMicros).toBe(30_000_000n);
    expect(mau.percent).toBe(600);
  });

  it("bills build minutes by started minute", () => {
    const build = measure({ buildSeconds: 60n * 60n + 1n }).build_minutes;
    expect(toNumber(build.used)).toBe(61);
    expect(toNumber(build.overage)).toBe(1);
    expect(build.overageCostMicros).toBe(80_000n);
  });

  it("prices bandwidth overage per GiB, to the byte", () => {
    const bandwidth = measure({ bandwidthBytes: 14n * GIB + GIB / 2n }).bandwidth;
    expect(toNumber(bandwidth.overage)).toBe(1.5);
    expect(bandwidth.overageCostMicros).toBe(90_000n);
  });

  it("turns stored bytes over time into GiB-months", () => {
    // 2 GiB held for the 10 days so far of a 30-day cycle: 2/3 of a GiB-month.
    const byteMs = 2n * GIB * 10n * 86_400_000n;
    const storage = measure({ storageByteMs: byteMs, storageCurrentBytes: 2n * GIB }).storage;
    expect(toNumber(storage.used)).toBeCloseTo(0.666667, 6);
    expect(storage.overage.numerator).toBe(0n);
  });

  it("includes nothing without a plan: every unit is overage and there is no percent", () => {
    const mau = measure({ mauDevices: 10n }, null).mau;
    expect(mau.percent).toBeNull();
    expect(toNumber(mau.overage)).toBe(10);
    expect(mau.overageCostMicros).toBe(30_000n);
  });
});

describe("isOverQuota", () => {
  it.each([
    { metric: "mau", usage: { mauDevices: 2_000n }, over: false },
    { metric: "mau", usage: { mauDevices: 2_001n }, over: true },
    { metric: "bandwidth", usage: { bandwidthBytes: 13n * GIB }, over: false },
    { metric: "bandwidth", usage: { bandwidthBytes: 13n * GIB + 1n }, over: true },
    { metric: "storage", usage: { storageCurrentBytes: GIB }, over: false },
    { metric: "storage", usage: { storageCurrentBytes: GIB + 1n }, over: true },
    { metric: "build_minutes", usage: { buildSeconds: 3_600n }, over: false },
    { metric: "build_minutes", usage: { buildSeconds: 3_601n }, over: true },
  ] as const)("$metric at $usage: over $over", ({ metric, usage, over }) => {
    const raw = { ...none, ...usage };
    const measured = measureUsage({ usage: raw, quotas: solo, cycle, tiers: catalog.creditTiers });
    expect(isOverQuota({ metric, measured: measured[metric], usage: raw })).toBe(over);
  });
});
