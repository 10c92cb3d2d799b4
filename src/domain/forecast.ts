import type { Cycle } from "./cycles.js";
import { ceilDiv, compare, minusFloor, plus, type Quantity, scale, whole } from "./quantity.js";
import { GIB, type MetricUsage, type RawUsage } from "./usage.js";
import type { Metric } from "./usageEvents.js";

const DAY_MS = 86_400_000n;

/** How many complete days the recent rate is the mean of. */
export const RECENT_DAYS = 7;

/**
 * How a metric's use at the cycle's end is projected. Distinct devices saturate (a device
 * counts once per cycle, and most of them come back on the cycle's first day), so MAU grows
 * by the devices new each day, not by a straight line of the total.
 */
export const forecastMethods = {
  new_devices:
    "MAU so far, plus devices new each day at the mean of the last 7 complete days (after the " +
    "cycle's first day, which holds every returning device) over the days left; a day holding " +
    "more than the other days together is left out as a one-off",
  recent_rate:
    "use so far, plus the mean daily use of the last 7 complete days over the days left; a day " +
    "holding more than the other days together is left out as a one-off",
  cycle_average: "on the cycle's first day: the average rate so far, extended to the cycle's end",
  seen_so_far:
    "MAU in the cycle's first two days, before any day of new devices is complete: the devices seen so far",
  storage_held: "the bytes stored now, held until the cycle's end",
} as const;
export type ForecastMethod = keyof typeof forecastMethods;

export interface Forecast {
  method: ForecastMethod;
  atCycleEnd: Quantity;
  /** Billing units per day the projection adds; null for storage, which is held, not added. */
  dailyRate: Quantity | null;
  /**
   * When the projection reaches the quota, even after the cycle's end; null with nothing
   * included, with no growth, or once the quota is reached.
   */
  reachesQuotaAt: Date | null;
}

/** One UTC day of a metric in raw units: devices first seen, bytes, or build seconds. */
export interface DayUse {
  day: string;
  value: bigint;
}

/** The metrics that grow by the day; storage is a level, held rather than added to. */
export const growingMetrics = ["mau", "bandwidth", "build_minutes"] as const;
export type GrowingMetric = (typeof growingMetrics)[number];

/** Raw units per billing unit. */
const rawPerUnit: Record<GrowingMetric, bigint> = { mau: 1n, bandwidth: GIB, build_minutes: 60n };

/** Units added over `perMs` milliseconds. */
interface Rate {
  units: Quantity;
  perMs: bigint;
}

/**
 * Projects each metric to the cycle's end and gives the moment it reaches its quota, from the
 * cycle's use so far and its days (`daily`: this cycle's days in raw units; missing days had none).
 *
 * Example: 12,000 devices all first seen on the cycle's first day and none new since project to
 * 12,000 at the cycle's end, not 12,000 × 30 ÷ days so far.
 * Example: bandwidth of 2 GiB a day over the last week, 20 GiB used, 5 days left → 30 GiB.
 */
export function forecastUsage({
  measured,
  raw,
  daily,
  cycle,
  now,
}: {
  measured: Record<Metric, MetricUsage>;
  raw: RawUsage;
  daily: Record<GrowingMetric, DayUse[]>;
  cycle: Cycle;
  now: Date;
}): Record<Metric, Forecast> {
  const start = cycle.start.getTime();
  const end = BigInt(cycle.end.getTime());
  const at = BigInt(Math.min(Math.max(now.getTime(), start), cycle.end.getTime()));
  const elapsed = at - BigInt(start);
  const left = end - at;

  const project = (metric: GrowingMetric, method: ForecastMethod, rate: Rate | null): Forecast => {
    const { used, included } = measured[metric];
    if (!rate || rate.perMs === 0n) {
      return { method, atCycleEnd: used, dailyRate: whole(0n), reachesQuotaAt: null };
    }
    return {
      method,
      atCycleEnd: plus(used, scale(rate.units, left, rate.perMs)),
      dailyRate: scale(rate.units, DAY_MS, rate.perMs),
      reachesQuotaAt: reachAt({ used, included, rate, at }),
    };
  };
  const grown = (metric: GrowingMetric): Forecast => {
    const firstDay = metric === "mau" ? addDays(cycle.start, 1) : cycle.start;
    const recent = recentDays({ days: daily[metric], from: firstDay, until: now });
    if (recent.length > 0) {
      const kept = withoutOneOff(recent);
      const sum = kept.reduce((total, value) => total + value, 0n);
      const units = { numerator: sum, denominator: rawPerUnit[metric] };
      return project(metric, metric === "mau" ? "new_devices" : "recent_rate", {
        units,
        perMs: BigInt(kept.length) * DAY_MS,
      });
    }
    if (metric === "mau") return project(metric, "seen_so_far", null);
    return project(metric, "cycle_average", { units: measured[metric].used, perMs: elapsed });
  };

  return {
    mau: grown("mau"),
    bandwidth: grown("bandwidth"),
    build_minutes: grown("build_minutes"),
    storage: storageHeld({ measured: measured.storage, raw, at, end, cycleMs: end - BigInt(start) }),
  };
}

/** The capped form the API gives: the day the quota is reached within this cycle, else null. */
export function reachedWithin(forecast: Forecast, cycle: Cycle): Date | null {
  return forecast.reachesQuotaAt && forecast.reachesQuotaAt < cycle.end ? forecast.reachesQuotaAt : null;
}

/**
 * The last `RECENT_DAYS` complete days from `from` (inclusive) to the day of `until`
 * (exclusive), oldest first, with the days that had no use as zero.
 */
function recentDays({ days, from, until }: { days: DayUse[]; from: Date; until: Date }): bigint[] {
  const today = startOfDay(until);
  const first = Math.max(from.getTime(), today - RECENT_DAYS * Number(DAY_MS));
  const byDay = new Map(days.map((point) => [point.day, point.value]));
  const values: bigint[] = [];
  for (let day = first; day < today; day += Number(DAY_MS)) {
    values.push(byDay.get(new Date(day).toISOString().slice(0, 10)) ?? 0n);
  }
  return values;
}

/**
 * The values without their largest when it alone is more than all the others together (of at
 * least two): a one-off day must not be projected onto every day left.
 *
 * Example: [0, 0, 12000, 0] → [0, 0, 0]; [100, 120, 110] and [0, 700, 700] stay.
 */
export function withoutOneOff(values: bigint[]): bigint[] {
  if (values.length < 3) return values;
  let busiest = 0;
  values.forEach((value, index) => {
    if (value > (values[busiest] ?? 0n)) busiest = index;
  });
  const others = values.filter((_, index) => index !== busiest);
  const rest = others.reduce((total, value) => total + value, 0n);
  return (values[busiest] ?? 0n) > rest ? others : values;
}

function reachAt({
  used,
  included,
  rate,
  at,
}: {
  used: Quantity;
  included: Quantity;
  rate: Rate;
  at: bigint;
}): Date | null {
  if (included.numerator === 0n || rate.units.numerator === 0n || compare(used, included) >= 0) return null;
  const missing = minusFloor(included, used);
  // at + missing ÷ (units ÷ perMs)
  const ms = ceilDiv(
    missing.numerator * rate.perMs * rate.units.denominator,
    missing.denominator * rate.units.numerator,
  );
  return new Date(Number(at + ms));
}

function storageHeld({
  measured,
  raw,
  at,
  end,
  cycleMs,
}: {
  measured: MetricUsage;
  raw: RawUsage;
  at: bigint;
  end: bigint;
  cycleMs: bigint;
}): Forecast {
  const denominator = GIB * cycleMs;
  const quotaByteMs = (measured.included.numerator * denominator) / measured.included.denominator;
  const reached =
    measured.included.numerator === 0n || raw.storageCurrentBytes === 0n || raw.storageByteMs >= quotaByteMs
      ? null
      : new Date(Number(at + ceilDiv(quotaByteMs - raw.storageByteMs, raw.storageCurrentBytes)));
  return {
    method: "storage_held",
    atCycleEnd: { numerator: raw.storageByteMs + raw.storageCurrentBytes * (end - at), denominator },
    dailyRate: null,
    reachesQuotaAt: reached,
  };
}

function startOfDay(at: Date): number {
  return Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate());
}

function addDays(at: Date, days: number): Date {
  return new Date(at.getTime() + days * Number(DAY_MS));
}
