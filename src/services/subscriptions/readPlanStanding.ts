import type { Kysely } from "kysely";
import { cycleScheduleOf, findOrg, type OrgRow } from "../../db/orgRepo.js";
import type { Schema } from "../../db/schema.js";
import { findSubscription } from "../../db/subscriptionRepo.js";
import type { Catalog } from "../../domain/catalog.js";
import { type Cycle, cycleAt } from "../../domain/cycles.js";
import { AppError } from "../../domain/errors.js";
import { type PlanStanding, planStanding } from "../../domain/subscriptions.js";

/**
 * The organization, its plan right now (its subscription, its trial, or nothing), and the
 * billing cycle usage is counted in now (by its cycle schedule).
 */
export async function readPlanStanding({
  db,
  catalog,
  orgId,
  now,
}: {
  db: Kysely<Schema>;
  catalog: Catalog;
  orgId: string;
  now: Date;
}): Promise<{ org: OrgRow; standing: PlanStanding; cycle: Cycle }> {
  const [org, subscription] = await Promise.all([findOrg(db, orgId), findSubscription(db, orgId)]);
  if (!org) throw new AppError("not_found", `Organization ${orgId} not found`);
  const standing = planStanding({
    subscription: subscription ?? null,
    trialStartedAt: org.created_at,
    trialEndsAt: org.trial_ends_at,
    catalog,
    now,
  });
  return { org, standing, cycle: cycleAt({ at: now, schedule: cycleScheduleOf(org) }) };
}
