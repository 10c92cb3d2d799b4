import type { Quotas, Tier } from "./catalog.js";
import type { Cycle } from "./cycles.js";
import { ceilDiv, compare, minusFloor, type Quantity, whole } from "./quantity.js";
import { tieredCostMicros } from "./tierPricing.js";
import { type Metric, metrics } from "./usageEvents.js";

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
}

/**
 * Raw usage in billing units: MAU in devices; bandwidth in GiB (bytes ÷ 2^30); storage in
 * GiB-months (GiB-hours ÷ hours in the cycle); build minutes in started minutes (ceil of
 * seconds ÷ 60).
 */
export function billingQuantities(usage: RawUsage, cycle: Cycle): Record<Metric, Quantity> {
  const cycleMs = BigInt(cycle.end.getTime() - cycle.start.getTime());
  return {
    mau: whole(usage.mauDevices),
    bandwidth: { numerator: usage.bandwidthBytes, denominator: GIB },
    storage: { numerator: usage.storageByteMs, denominator: GIB * cycleMs },
    build_minutes: whole(ceilDiv(usage.buildSeconds, 60n)),
  };
}

/** A plan's quotas in billing units; nothing is included without a plan. */
export function includedQuantities(quotas: Quotas | null): Record<Metric, Quantity> {
  return {
    mau: whole(BigInt(quotas?.mau ?? 0)),
    bandwidth: whole(BigInt(quotas?.bandwidth_gib ?? 0)),
    storage: whole(BigInt(quotas?.storage_gib ?? 0)),
    build_minutes: whole(BigInt(quotas?.build_minutes ?? 0)),
  };
}

/**
 * Usage against what a plan includes: the overage and its cost at graduated tiers. What is
 * charged, shown and advised is computed here, and only here.
 *
 * Example: a Solo trial (2,000 MAU included) with 12,000 devices has 10,000 MAU of overage,
 * costing 30 credits at 0.003 each.
 */
export function measureAgainst({
  used,
  included,
  tiers,
}: {
  used: Quantity;
  included: Quantity;
  tiers: Tier[];
}): MetricUsage {
  const overage = minusFloor(used, included);
  return {
    used,
    included,
    overage,
    overageCostMicros: tieredCostMicros({ quantity: overage, tiers }),
    percent: percentOf(used, included),
  };
}

/** The cycle's usage so far against the plan's quotas, per metric (see `measureAgainst`). */
export function measureUsage({
  usage,
  quotas,
  cycle,
  tiers,
}: {
  usage: RawUsage;
  quotas: Quotas | null;
  cycle: Cycle;
  /** Per metric, the graduated tiers the organization is charged. */
  tiers: Record<Metric, Tier[]>;
}): Record<Metric, MetricUsage> {
  const used = billingQuantities(usage, cycle);
  const included = includedQuantities(quotas);
  return Object.fromEntries(
    metrics.map((metric) => [
      metric,
      measureAgainst({ used: used[metric], included: included[metric], tiers: tiers[metric] }),
    ]),
  ) as Record<Metric, MetricUsage>;
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

function percentOf(used: Quantity, quota: Quantity): number | null {
  if (quota.numerator === 0n) return null;
  // Tenths of a percent, rounded half up.
  const tenths =
    (used.numerator * quota.denominator * 2000n + quota.numerator * used.denominator) /
    (2n * quota.numerator * used.denominator);
  return Number(tenths) / 10;
}
