import type { Kysely } from "kysely";
import type { OrgRow } from "../../db/orgRepo.js";
import type { Schema } from "../../db/schema.js";
import {
  cycleTotals,
  type DailyPoint,
  dailySeries,
  dayOf,
  storageByteMs,
} from "../../db/usageAggregateRepo.js";
import { billingUnits, type Catalog, creditTiersFor, findPlan, type Tier } from "../../domain/catalog.js";
import type { Cycle } from "../../domain/cycles.js";
import { AppError } from "../../domain/errors.js";
import {
  type Forecast,
  type ForecastMethod,
  forecastUsage,
  type GrowingMetric,
  growingMetrics,
  reachedWithin,
} from "../../domain/forecast.js";
import { formatCredits } from "../../domain/money.js";
import { toNumber } from "../../domain/quantity.js";
import type { PlanStanding } from "../../domain/subscriptions.js";
import { GIB, type MetricUsage, measureUsage, type RawUsage } from "../../domain/usage.js";
import { type Metric, metrics } from "../../domain/usageEvents.js";
import { readPlanStanding } from "../subscriptions/readPlanStanding.js";

export interface UsageReport {
  org: OrgRow;
  standing: PlanStanding;
  cycle: Cycle;
  raw: RawUsage;
  /** The tiers the organization's overage is charged at (its own, or the catalog's). */
  tiers: Record<Metric, Tier[]>;
  measured: Record<Metric, MetricUsage>;
}

/**
 * The organization's plan, current cycle and usage in it, from the aggregates. Storage over
 * time needs the raw storage readings; the entitlement check, which gates storage on today's
 * bytes, skips them (`storageHistory: false`).
 */
export async function readUsage({
  db,
  catalog,
  orgId,
  now,
  storageHistory = true,
}: {
  db: Kysely<Schema>;
  catalog: Catalog;
  orgId: string;
  now: Date;
  storageHistory?: boolean;
}): Promise<UsageReport> {
  const { org, standing, cycle } = await readPlanStanding({ db, catalog, orgId, now });
  const [totals, byteMs] = await Promise.all([
    cycleTotals(db, { orgId, cycle }),
    storageHistory ? storageByteMs(db, { orgId, cycle, until: now }) : Promise.resolve(0n),
  ]);
  const raw = { ...totals, storageByteMs: byteMs };
  const quotas = standing.plan ? (findPlan(catalog, standing.plan)?.quotas ?? null) : null;
  const tiers = creditTiersFor(catalog, org.credit_tiers);
  return {
    org,
    standing,
    cycle,
    raw,
    tiers,
    measured: measureUsage({ usage: raw, quotas, cycle, tiers }),
  };
}

/**
 * Usage per UTC day in [from, to), by default the current cycle, in raw units (devices first
 * seen, bytes, seconds, stored bytes at the day's end).
 */
export async function readDailyUsage({
  db,
  catalog,
  orgId,
  metric,
  from,
  to,
  now,
}: {
  db: Kysely<Schema>;
  catalog: Catalog;
  orgId: string;
  metric: Metric;
  from?: string | undefined;
  to?: string | undefined;
  now: Date;
}): Promise<DailyPoint[]> {
  const { cycle } = await readPlanStanding({ db, catalog, orgId, now });
  const first = from ?? dayOf(cycle.start);
  const last = to ?? dayOf(cycle.end);
  const span = (Date.parse(last) - Date.parse(first)) / 86_400_000;
  if (!(span > 0 && span <= MAX_DAYS)) {
    throw new AppError("invalid_request", `querystring.to: must be after from, by at most ${MAX_DAYS} days`);
  }
  return dailySeries(db, { orgId, metric, from: first, to: last });
}

const MAX_DAYS = 366;

/** The cycle's daily series of the metrics asked for (every metric by default). */
export async function readCycleDaily<M extends Metric = Metric>({
  db,
  orgId,
  cycle,
  of = metrics as readonly Metric[] as readonly M[],
}: {
  db: Kysely<Schema>;
  orgId: string;
  cycle: Cycle;
  of?: readonly M[];
}): Promise<Record<M, DailyPoint[]>> {
  const span = { orgId, from: dayOf(cycle.start), to: dayOf(cycle.end) };
  const series = await Promise.all(of.map((metric) => dailySeries(db, { ...span, metric })));
  return Object.fromEntries(of.map((metric, n) => [metric, series[n] ?? []])) as Record<M, DailyPoint[]>;
}

/** The usage report with its days and each metric's projection to the cycle's end. */
export interface UsageOutlook {
  report: UsageReport;
  daily: Record<GrowingMetric, DailyPoint[]>;
  forecast: Record<Metric, Forecast>;
}

/**
 * The cycle's usage and its forecast (`domain/forecast.ts`), which reads the cycle's days: for
 * the usage view, the advisor and quota emails, not for the entitlement check.
 */
export async function readOutlook({
  db,
  catalog,
  orgId,
  now,
  report: known,
}: {
  db: Kysely<Schema>;
  catalog: Catalog;
  orgId: string;
  now: Date;
  /** The report already read, if any. */
  report?: UsageReport;
}): Promise<UsageOutlook> {
  const report = known ?? (await readUsage({ db, catalog, orgId, now }));
  const daily = await readCycleDaily({ db, orgId, cycle: report.cycle, of: growingMetrics });
  const forecast = forecastUsage({
    measured: report.measured,
    raw: report.raw,
    daily,
    cycle: report.cycle,
    now,
  });
  return { report, daily, forecast };
}

/** A metric as GET /v1/orgs/:org/usage and `meterline usage show` give it, in billing units. */
export interface MetricSummary {
  unit: string;
  used: number;
  included: number;
  percent: number | null;
  overage: number;
  /** Credits, a decimal string. */
  overage_cost: string;
  forecast: {
    at_cycle_end: number;
    quota_reached_on: Date | null;
    method: ForecastMethod;
    /** Billing units a day the projection adds; null for storage, which is held. */
    daily_rate: number | null;
  };
}

export interface UsageSummary {
  cycle: Cycle;
  plan: string | null;
  metrics: Record<Exclude<Metric, "storage">, MetricSummary> & {
    storage: MetricSummary & { current_gib: number };
  };
}

export function summarizeUsage({ report, forecast }: Omit<UsageOutlook, "daily">): UsageSummary {
  const metric = (name: Metric): MetricSummary => {
    const usage = report.measured[name];
    const projection = forecast[name];
    return {
      unit: billingUnits[name],
      used: toNumber(usage.used),
      included: toNumber(usage.included),
      percent: usage.percent,
      overage: toNumber(usage.overage),
      overage_cost: formatCredits(usage.overageCostMicros),
      forecast: {
        at_cycle_end: toNumber(projection.atCycleEnd),
        quota_reached_on: reachedWithin(projection, report.cycle),
        method: projection.method,
        daily_rate: projection.dailyRate ? toNumber(projection.dailyRate) : null,
      },
    };
  };
  return {
    cycle: report.cycle,
    plan: report.standing.plan,
    metrics: {
      mau: metric("mau"),
      bandwidth: metric("bandwidth"),
      storage: {
        ...metric("storage"),
        current_gib: toNumber({ numerator: report.raw.storageCurrentBytes, denominator: GIB }),
      },
      build_minutes: metric("build_minutes"),
    },
  };
}
