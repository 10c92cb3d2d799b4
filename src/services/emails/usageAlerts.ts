import type { Kysely } from "kysely";
import { availableCredits } from "../../db/creditReads.js";
import { queueEmail } from "../../db/emailRepo.js";
import type { Schema } from "../../db/schema.js";
import { dayOf } from "../../db/usageAggregateRepo.js";
import { type Catalog, findPlan } from "../../domain/catalog.js";
import { highestThreshold, USAGE_THRESHOLDS } from "../../domain/emails.js";
import type { Forecast } from "../../domain/forecast.js";
import { formatCredits } from "../../domain/money.js";
import { toNumber } from "../../domain/quantity.js";
import { liveUse } from "../../domain/usage.js";
import { type Metric, metrics } from "../../domain/usageEvents.js";
import { readOutlook, readUsage } from "../usage/readUsage.js";

/** Units as an email states a quota: storage by today's bytes. */
const units: Record<Metric, string> = {
  mau: "MAU",
  bandwidth: "GiB",
  storage: "GiB",
  build_minutes: "minutes",
};

/**
 * Queues the quota email of each metric whose use reached a threshold (50, 70, 90, 100%) of the
 * plan's quota this cycle, once per organization, metric, threshold and cycle: the outbox's
 * dedupe key holds the promise across processes, `known` spares this process asking again.
 * Answers how many were queued.
 */
export async function queueUsageAlerts({
  db,
  catalog,
  orgId,
  now,
  known,
}: {
  db: Kysely<Schema>;
  catalog: Catalog;
  orgId: string;
  now: Date;
  /** Dedupe keys this process has seen queued, as `<org>|<key>`. */
  known: Set<string>;
}): Promise<number> {
  const report = await readUsage({ db, catalog, orgId, now, storageHistory: false });
  const plan = report.standing.plan ? findPlan(catalog, report.standing.plan) : undefined;
  if (!plan) return 0;
  const cycleStart = dayOf(report.cycle.start);
  let credits: string | null = null;
  let forecast: Record<Metric, Forecast> | null = null;
  let queued = 0;
  for (const metric of metrics) {
    const measured = report.measured[metric];
    const { used, percent } = liveUse({ metric, measured, usage: report.raw });
    const threshold = highestThreshold(percent, USAGE_THRESHOLDS);
    if (threshold === null || percent === null) continue;
    const dedupeKey = `usage_quota:${metric}:${threshold}:${cycleStart}`;
    if (known.has(`${orgId}|${dedupeKey}`)) continue;
    credits ??= formatCredits((await availableCredits(db, { orgId, now })).available);
    // Told even when it falls after the cycle's end: it says how close the plan is to fitting.
    // Storage is gated on today's bytes, which the projection holds: no date to tell.
    forecast ??= (await readOutlook({ db, catalog, orgId, now, report })).forecast;
    const reachedOn = metric === "storage" ? null : forecast[metric].reachesQuotaAt;
    const sent = await queueEmail(db, {
      orgId,
      dedupeKey,
      facts: {
        kind: "usage_quota",
        org_name: report.org.name,
        metric,
        threshold,
        percent,
        used: toNumber(used),
        included: toNumber(measured.included),
        unit: units[metric],
        plan_name: plan.name,
        on_trial: report.standing.source === "trial",
        quota_reached_on: reachedOn ? dayOf(reachedOn) : null,
        cycle_end: dayOf(report.cycle.end),
        credits_available: credits,
      },
      now,
    });
    if (sent) queued += 1;
    if (known.size > 100_000) known.clear();
    known.add(`${orgId}|${dedupeKey}`);
  }
  return queued;
}
