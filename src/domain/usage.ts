import type { Quotas, Tier } from "./catalog.js";
import type { Cycle } from "./cycles.js";
import { ceilDiv, type Quantity, tieredCostMicros, whole } from "./tierPricing.js";
import type { Metric } from "./usageEvents.js";

export const GIB = 1n << 30n;

/** A cycle's usage so far, as the aggregates hold it, in raw units. */
export interface RawUsage {
  mauDevices: bigint;
  bandwidthBytes: bigint;
  buildSeconds: bigint;
  /** Stored bytes integrated over time since the cycle began, in byte-milliseconds. */
  storageByteMs: bigint;
  /** The latest readings of every app, summed: the live storage gate. */
  storageCurrentBytes: bigint;
}

export interface MetricUsage {
  used: Quantity;
  included: Quantity;
  overage: Quantity;
  overageCostMicros: bigint;
  /** used ÷ included × 100, or null with nothing included. */
  percent: number | null;
  forecast: { atCycleEnd: Quantity; quotaReachedOn: Date | null };
}

/**
 * Turns raw usage into billing units, overage and its cost, and a forecast. Units: MAU in
 * devices; bandwidth in GiB (bytes ÷ 2^30); storage in GiB-months (GiB-hours ÷ hours in the
 * cycle); build minutes in started minutes (ceil of seconds ÷ 60).
 *
 * The forecast extends the cycle's average rate so far to its end (storage: today's bytes kept
 * until the end), and gives the day that rate reaches the quota, if it does within the cycle.
 *
 * Example: a Solo trial (2,000 MAU included) with 12,000 devices has 10,000 MAU of overage,
 * costing 30 credits.
 */
export function measureUsage({
  usage,
  quotas,
  cycle,
  now,
  tiers,
}: {
  usage: RawUsage;
  quotas: Quotas | null;
  cycle: Cycle;
  now: Date;
  /** Per metric, the graduated tiers the organization is charged. */
  tiers: Record<Metric, Tier[]>;
}): Record<Metric, MetricUsage> {
  const start = BigInt(cycle.start.getTime());
  const end = BigInt(cycle.end.getTime());
  const at = BigInt(Math.min(Math.max(now.getTime(), cycle.start.getTime()), cycle.end.getTime()));
  const total = end - start;
  const elapsed = at - start;
  const included = (value: number | undefined) => whole(BigInt(value ?? 0));

  const linear = (used: Quantity, quota: Quantity): MetricUsage["forecast"] => ({
    atCycleEnd: elapsed > 0n ? scale(used, total, elapsed) : used,
    quotaReachedOn: reachedOn({ used, quota, start, elapsed, end }),
  });
  const measured = (metric: Metric, used: Quantity, quota: Quantity, forecast: MetricUsage["forecast"]) => {
    const overage = minusFloor(used, quota);
    return {
      used,
      included: quota,
      overage,
      overageCostMicros: tieredCostMicros({ quantity: overage, tiers: tiers[metric] }),
      percent: percentOf(used, quota),
      forecast,
    };
  };

  const mau = whole(usage.mauDevices);
  const mauQuota = included(quotas?.mau);
  const bandwidth = { numerator: usage.bandwidthBytes, denominator: GIB };
  const bandwidthQuota = included(quotas?.bandwidth_gib);
  const build = whole(ceilDiv(usage.buildSeconds, 60n));
  const buildQuota = included(quotas?.build_minutes);
  const storageDenominator = GIB * total;
  const storage = { numerator: usage.storageByteMs, denominator: storageDenominator };
  const storageQuota = included(quotas?.storage_gib);
  const storageAtEnd = {
    numerator: usage.storageByteMs + usage.storageCurrentBytes * (end - at),
    denominator: storageDenominator,
  };

  return {
    mau: measured("mau", mau, mauQuota, linear(mau, mauQuota)),
    bandwidth: measured("bandwidth", bandwidth, bandwidthQuota, linear(bandwidth, bandwidthQuota)),
    build_minutes: measured("build_minutes", build, buildQuota, linear(build, buildQuota)),
    storage: measured("storage", storage, storageQuota, {
      atCycleEnd: storageAtEnd,
      quotaReachedOn: storageReachedOn({
        usage,
        quota: storageQuota,
        at,
        end,
        denominator: storageDenominator,
      }),
    }),
  };
}

/** Whether the live gate of a metric is over its quota: storage by today's bytes, the rest by use. */
export function isOverQuota({
  metric,
  measured,
  usage,
}: {
  metric: Metric;
  measured: MetricUsage;
  usage: RawUsage;
}): boolean {
  if (metric === "storage") {
    return usage.storageCurrentBytes * measured.included.denominator > measured.included.numerator * GIB;
  }
  return compare(measured.used, measured.included) > 0;
}

/**
 * How much of a quota is in use as the live gate sees it: storage by today's bytes (in GiB),
 * the other metrics by the cycle's use.
 */
export function liveUse({
  metric,
  measured,
  usage,
}: {
  metric: Metric;
  measured: MetricUsage;
  usage: RawUsage;
}): { used: Quantity; percent: number | null } {
  if (metric !== "storage") return { used: measured.used, percent: measured.percent };
  const used = { numerator: usage.storageCurrentBytes, denominator: GIB };
  return { used, percent: percentOf(used, measured.included) };
}

/** A quantity as a number with at most six decimals, for display. */
export function toNumber(quantity: Quantity): number {
  const micros = (quantity.numerator * 1_000_000n + quantity.denominator / 2n) / quantity.denominator;
  return Number(micros) / 1_000_000;
}

function scale(quantity: Quantity, by: bigint, over: bigint): Quantity {
  return { numerator: quantity.numerator * by, denominator: quantity.denominator * over };
}

function compare(a: Quantity, b: Quantity): number {
  const left = a.numerator * b.denominator;
  const right = b.numerator * a.denominator;
  return left < right ? -1 : left > right ? 1 : 0;
}

function minusFloor(a: Quantity, b: Quantity): Quantity {
  const numerator = a.numerator * b.denominator - b.numerator * a.denominator;
  return numerator > 0n ? { numerator, denominator: a.denominator * b.denominator } : whole(0n);
}

function percentOf(used: Quantity, quota: Quantity): number | null {
  if (quota.numerator === 0n) return null;
  // Tenths of a percent, rounded half up.
  const tenths =
    (used.numerator * quota.denominator * 2000n + quota.numerator * used.denominator) /
    (2n * quota.numerator * used.denominator);
  return Number(tenths) / 10;
}

function reachedOn({
  used,
  quota,
  start,
  elapsed,
  end,
}: {
  used: Quantity;
  quota: Quantity;
  start: bigint;
  elapsed: bigint;
  end: bigint;
}): Date | null {
  const at = projectedReach({ used, quota, start, elapsed });
  return at !== null && BigInt(at.getTime()) < end ? at : null;
}

/**
 * When the rate so far (`used` over `elapsed` ms since `start`) reaches the quota, even past the
 * cycle's end; null with nothing used or nothing included, or when it is already reached.
 */
export function projectedReach({
  used,
  quota,
  start,
  elapsed,
}: {
  used: Quantity;
  quota: Quantity;
  start: bigint;
  elapsed: bigint;
}): Date | null {
  if (quota.numerator === 0n || used.numerator === 0n || elapsed <= 0n) return null;
  if (compare(used, quota) >= 0) return null;
  // start + elapsed × quota ÷ used
  const offset = (elapsed * quota.numerator * used.denominator) / (quota.denominator * used.numerator);
  return new Date(Number(start + offset));
}

function storageReachedOn({
  usage,
  quota,
  at,
  end,
  denominator,
}: {
  usage: RawUsage;
  quota: Quantity;
  at: bigint;
  end: bigint;
  denominator: bigint;
}): Date | null {
  if (quota.numerator === 0n || usage.storageCurrentBytes === 0n) return null;
  const quotaByteMs = (quota.numerator * denominator) / quota.denominator;
  if (usage.storageByteMs >= quotaByteMs) return null;
  const reached = at + ceilDiv(quotaByteMs - usage.storageByteMs, usage.storageCurrentBytes);
  return reached < end ? new Date(Number(reached)) : null;
}
