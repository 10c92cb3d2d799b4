import type { Kysely } from "kysely";
import { cycleScheduleOf } from "../../db/orgRepo.js";
import type { Schema } from "../../db/schema.js";
import { cyclesTotals } from "../../db/usageAggregateRepo.js";
import { type Advice, advisePlans, HISTORY_CYCLES, type PlanCost } from "../../domain/advisor.js";
import { type Catalog, findPlan } from "../../domain/catalog.js";
import { cyclesBefore } from "../../domain/cycles.js";
import { formatCredits, formatUsd } from "../../domain/money.js";
import { toNumber } from "../../domain/quantity.js";
import { billingQuantities } from "../../domain/usage.js";
import type { Metric } from "../../domain/usageEvents.js";
import { readOutlook, type UsageOutlook } from "../usage/readUsage.js";

/**
 * What each plan would cost the organization this cycle, and which to choose (see
 * `advisePlans`): from the cycle's forecast and the previous cycles' use. It reads; it never
 * changes a plan.
 */
export async function readAdvice({
  db,
  catalog,
  orgId,
  now,
}: {
  db: Kysely<Schema>;
  catalog: Catalog;
  orgId: string;
  now: Date;
}): Promise<{ outlook: UsageOutlook; advice: Advice }> {
  const outlook = await readOutlook({ db, catalog, orgId, now });
  const { report, forecast, daily } = outlook;
  const previous = cyclesBefore({
    cycle: report.cycle,
    schedule: cycleScheduleOf(report.org),
    count: HISTORY_CYCLES,
  });
  const history = (await cyclesTotals(db, { orgId, cycles: previous })).map((totals, index) =>
    billingQuantities(
      { ...totals, storageByteMs: 0n, storageCurrentBytes: 0n },
      previous[index] ?? report.cycle,
    ),
  );
  const { standing, raw } = report;
  const advice = advisePlans({
    plans: catalog.plans,
    tiers: report.tiers,
    projected: {
      mau: forecast.mau.atCycleEnd,
      bandwidth: forecast.bandwidth.atCycleEnd,
      storage: forecast.storage.atCycleEnd,
      build_minutes: forecast.build_minutes.atCycleEnd,
    },
    current: standing.plan
      ? { plan: standing.plan, interval: standing.interval, trial: standing.source === "trial" }
      : null,
    history: {
      mau: history.map((cycle) => cycle.mau),
      bandwidth: history.map((cycle) => cycle.bandwidth),
      build_minutes: history.map((cycle) => cycle.build_minutes),
    },
    daily,
    raw: { mau: raw.mauDevices, bandwidth: raw.bandwidthBytes, build_minutes: raw.buildSeconds },
    cycle: report.cycle,
    now,
  });
  return { outlook, advice };
}

/** A way of paying as the API and CLI give it: USD in dollars and cents, credits with six decimals. */
function costView(cost: PlanCost, catalog: Catalog) {
  return {
    plan: cost.plan,
    name: findPlan(catalog, cost.plan)?.name ?? cost.plan,
    interval: cost.interval,
    base_usd: formatUsd(cost.baseMicros),
    overage_credits: formatCredits(cost.overageMicros),
    total_usd: formatUsd(cost.totalMicros),
  };
}

/** The advice as GET /v1/orgs/:org/advisor and `meterline usage show` give it. */
export function adviceView({
  outlook,
  advice,
  catalog,
}: {
  outlook: UsageOutlook;
  advice: Advice;
  catalog: Catalog;
}) {
  const { forecast, report } = outlook;
  const projected = (metric: Metric) => ({
    at_cycle_end: toNumber(forecast[metric].atCycleEnd),
    method: forecast[metric].method,
  });
  return {
    cycle: report.cycle,
    projected: {
      mau: projected("mau"),
      bandwidth: projected("bandwidth"),
      storage: projected("storage"),
      build_minutes: projected("build_minutes"),
    },
    current: advice.current ? { ...costView(advice.current, catalog), trial: advice.current.trial } : null,
    options: advice.options.map((option) => costView(option, catalog)),
    recommended: {
      ...advice.recommended,
      name: findPlan(catalog, advice.recommended.plan)?.name ?? advice.recommended.plan,
      saving_percent: advice.savingPercent,
    },
    spike: advice.spike
      ? {
          metric: advice.spike.metric,
          kind: advice.spike.kind,
          day: advice.spike.kind === "one_day" ? advice.spike.day : null,
        }
      : null,
  };
}
