import type { Kysely } from "kysely";
import type { Schema } from "../db/schema.js";
import { cyclesTotals } from "../db/usageAggregateRepo.js";
import { type Advice, advisePlans, HISTORY_CYCLES } from "../domain/advisor.js";
import type { Catalog } from "../domain/catalog.js";
import { cyclesBefore } from "../domain/cycles.js";
import { billingQuantities } from "../domain/usage.js";
import { readOutlook, type UsageOutlook } from "./readUsage.js";

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
    anchorDay: report.org.cycle_anchor_day,
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
