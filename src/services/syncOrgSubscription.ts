import type { Kysely } from "kysely";
import type { Logger } from "pino";
import { queueEmail } from "../db/emailRepo.js";
import { cycleScheduleOf, findOrg, type OrgRow, saveCycleSchedule } from "../db/orgRepo.js";
import type { Schema } from "../db/schema.js";
import { findCustomerId, findSubscription, saveSubscription } from "../db/subscriptionRepo.js";
import { type Catalog, findPlan } from "../domain/catalog.js";
import { moveAnchor } from "../domain/cycles.js";
import { subscriptionNotices } from "../domain/emails.js";
import { newId } from "../domain/ids.js";
import { anchorDayOf, isLive, type SubscriptionRecord } from "../domain/subscriptions.js";
import type { StripeGateway, StripeSubscriptionFacts } from "../stripe/gateway.js";

/**
 * Brings the organization's subscription in line with Stripe. Idempotent and convergent: it
 * trusts no event payload, re-reads every subscription of the organization's customer and
 * stores the one that counts (the newest live one, else the newest), so any number of
 * deliveries, in any order, leave the same state as the last read of Stripe.
 *
 * Run it inside a transaction that holds the organization's lock (`lockOrg`): two syncs of one
 * organization then take turns, and the later read is the one that stays.
 */
export async function syncOrgSubscription({
  tx,
  stripe,
  catalog,
  orgId,
  now,
  logger,
}: {
  tx: Kysely<Schema>;
  stripe: Pick<StripeGateway, "listSubscriptions">;
  catalog: Catalog;
  orgId: string;
  now: Date;
  logger?: Pick<Logger, "warn" | "error"> | undefined;
}): Promise<SubscriptionRecord | null> {
  const existing = (await findSubscription(tx, orgId)) ?? null;
  const customerId = await findCustomerId(tx, orgId);
  if (!customerId) return existing;
  const all = await stripe.listSubscriptions(customerId);
  const ours = all.filter((subscription) => {
    if (subscription.plan !== null && subscription.interval !== null) return true;
    logger?.warn(
      { org_id: orgId, subscription: subscription.id },
      "ignoring a subscription on a price not from the catalog",
    );
    return false;
  });
  const live = ours.filter((subscription) => isLive(subscription.status));
  if (live.length > 1) {
    // Checkout is serialized per organization, so this needs a person: refund and cancel one.
    logger?.error(
      { org_id: orgId, subscriptions: live.map((subscription) => subscription.id) },
      "organization has several live Stripe subscriptions; keeping the newest",
    );
  }
  const chosen = live[0] ?? ours[0];
  if (!chosen) return existing;
  const record = recordOf({ facts: chosen, existing, now });
  const org = await findOrg(tx, orgId);
  if (!org) return existing;
  if (!existing || !sameRecord(existing, record)) {
    await saveSubscription(tx, { orgId, record, now });
    // What the change tells the customer leaves in the same transaction as the change.
    const notices = subscriptionNotices({
      before: existing,
      after: record,
      orgName: org.name,
      planName: (planId) => findPlan(catalog, planId)?.name ?? planId,
      graceDays: catalog.pastDueGraceDays,
      now,
    });
    for (const notice of notices) await queueEmail(tx, { orgId, ...notice, now });
  }
  await followCycleAnchor({ tx, org, anchorDay: isLive(record.status) ? record.anchorDay : 1, now });
  return record;
}

function recordOf({
  facts,
  existing,
  now,
}: {
  facts: StripeSubscriptionFacts;
  existing: SubscriptionRecord | null;
  now: Date;
}): SubscriptionRecord {
  const same = existing?.stripeSubscriptionId === facts.id ? existing : null;
  return {
    id: same?.id ?? newId("sbs", now.getTime()),
    stripeSubscriptionId: facts.id,
    plan: facts.plan ?? "",
    interval: facts.interval ?? "month",
    status: facts.status,
    currentPeriodStart: facts.currentPeriodStart,
    currentPeriodEnd: facts.currentPeriodEnd,
    anchorDay: anchorDayOf(facts.billingCycleAnchor),
    cancelAtPeriodEnd: facts.cancelAtPeriodEnd,
    // The grace period runs from when Meterline first saw the subscription past due.
    pastDueSince: facts.status === "past_due" ? (same?.pastDueSince ?? now) : null,
  };
}

function sameRecord(a: SubscriptionRecord, b: SubscriptionRecord): boolean {
  return (
    a.id === b.id &&
    a.plan === b.plan &&
    a.interval === b.interval &&
    a.status === b.status &&
    a.currentPeriodStart.getTime() === b.currentPeriodStart.getTime() &&
    a.currentPeriodEnd.getTime() === b.currentPeriodEnd.getTime() &&
    a.anchorDay === b.anchorDay &&
    a.cancelAtPeriodEnd === b.cancelAtPeriodEnd &&
    a.pastDueSince?.getTime() === b.pastDueSince?.getTime()
  );
}

/**
 * Usage is counted by cycles of the organization's anchor day: its live subscription's, else
 * the 1st. When that changes, the running cycle stretches to the new anchor day (`moveAnchor`),
 * keeping what was counted and charged in it.
 */
async function followCycleAnchor({
  tx,
  org,
  anchorDay,
  now,
}: {
  tx: Kysely<Schema>;
  org: OrgRow;
  anchorDay: number;
  now: Date;
}): Promise<void> {
  const schedule = cycleScheduleOf(org);
  const moved = moveAnchor({ schedule, anchorDay, now });
  if (moved !== schedule) await saveCycleSchedule(tx, { orgId: org.id, schedule: moved });
}
