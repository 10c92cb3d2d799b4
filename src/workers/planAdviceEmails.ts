import type { Kysely } from "kysely";
import type { Logger } from "pino";
import { orgsDueEmail, queueEmail } from "../db/emailRepo.js";
import type { Schema } from "../db/schema.js";
import { isWorthMailing } from "../domain/advisor.js";
import { type Catalog, findPlan } from "../domain/catalog.js";
import { readAdvice } from "../services/advisor/advisePlans.js";

const DAY_MS = 86_400_000;
/** How often the job looks for organizations to advise; each gets one email a week at most. */
const EVERY_MS = 6 * 60 * 60 * 1000;

/**
 * Queues the weekly plan advice (SPEC §7) to each active organization that another plan would
 * cost at least 10% less than what it pays now (`isWorthMailing`), unless it had one in the
 * last 7 days; keyed by the week, so processes racing queue it once. One organization that
 * cannot be advised does not hold up the others: it is named in `failed`, and tried again on
 * the next run. The advice never changes a plan.
 */
export async function queuePlanAdvice({
  db,
  catalog,
  now,
}: {
  db: Kysely<Schema>;
  catalog: Catalog;
  now: Date;
}): Promise<{ queued: number; failed: { orgId: string; error: unknown }[] }> {
  const orgIds = await orgsDueEmail(db, {
    kind: "plan_advice",
    since: new Date(now.getTime() - 7 * DAY_MS),
    activeSince: new Date(now.getTime() - 31 * DAY_MS),
  });
  let queued = 0;
  const failed: { orgId: string; error: unknown }[] = [];
  const name = (id: string) => findPlan(catalog, id)?.name ?? id;
  for (const orgId of orgIds) {
    try {
      if (await adviseOrg({ db, catalog, orgId, now, name })) queued += 1;
    } catch (error) {
      failed.push({ orgId, error });
    }
  }
  return { queued, failed };
}

/** Queues one organization's advice if it is worth mailing; answers whether it was queued. */
async function adviseOrg({
  db,
  catalog,
  orgId,
  now,
  name,
}: {
  db: Kysely<Schema>;
  catalog: Catalog;
  orgId: string;
  now: Date;
  name: (planId: string) => string;
}): Promise<boolean> {
  const { outlook, advice } = await readAdvice({ db, catalog, orgId, now });
  if (!advice.current || !isWorthMailing(advice)) return false;
  return queueEmail(db, {
    orgId,
    dedupeKey: `plan_advice:${weekOf(now)}`,
    facts: {
      kind: "plan_advice",
      org_name: outlook.report.org.name,
      plan_name: name(advice.recommended.plan),
      interval: advice.recommended.interval,
      current_plan_name: name(advice.current.plan),
      on_trial: advice.current.trial,
      saving_percent: advice.savingPercent,
      reason: advice.recommended.reason,
    },
    now,
  });
}

/** The Monday starting the UTC week of `at`: "2026-11-23" for Thursday 26 November 2026. */
export function weekOf(at: Date): string {
  const daysSinceMonday = (at.getUTCDay() + 6) % 7;
  return new Date(at.getTime() - daysSinceMonday * DAY_MS).toISOString().slice(0, 10);
}

/** The first run waits this long: a server starting (or a fleet restarting) has enough to do. */
const FIRST_RUN_DELAY_MS = 60_000;

/** Runs `queuePlanAdvice` a minute after the start and every six hours, until stopped. */
export function startPlanAdvice({
  db,
  catalog,
  clock,
  logger,
}: {
  db: Kysely<Schema>;
  catalog: Catalog;
  clock: { now(): Date };
  logger?: Pick<Logger, "error" | "info"> | undefined;
}): { stop: () => void } {
  const run = async () => {
    try {
      const { queued, failed } = await queuePlanAdvice({ db, catalog, now: clock.now() });
      if (queued) logger?.info({ queued }, "plan advice queued");
      for (const { orgId, error } of failed) {
        logger?.error({ err: error, org: orgId }, "advising an organization failed; tried again next run");
      }
    } catch (error) {
      logger?.error({ err: error }, "plan advice failed; next run in six hours");
    }
  };
  let timer = setTimeout(() => {
    void run();
    timer = setInterval(run, EVERY_MS);
    timer.unref();
  }, FIRST_RUN_DELAY_MS);
  timer.unref();
  return { stop: () => clearTimeout(timer) };
}
