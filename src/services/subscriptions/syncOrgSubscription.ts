import type { Kysely } from "kysely";
import type { Logger } from "pino";
import { queueEmail } from "../../db/emailRepo.js";
import { cycleScheduleOf, lockOrg, type OrgRow, saveCycleSchedule } from "../../db/orgRepo.js";
import type { Schema } from "../../db/schema.js";
import {
  countCustomerSync,
  findCustomerSync,
  findSubscription,
  saveCustomerId,
  saveSubscription,
} from "../../db/subscriptionRepo.js";
import { inTransaction } from "../../db/transaction.js";
import { type Catalog, findPlan } from "../../domain/catalog.js";
import { moveAnchor } from "../../domain/cycles.js";
import { subscriptionNotices } from "../../domain/emails.js";
import { AppError } from "../../domain/errors.js";
import { newId } from "../../domain/ids.js";
import { anchorDayOf, isLive, type SubscriptionRecord } from "../../domain/subscriptions.js";
import type { StripeGateway, StripeSubscriptionFacts } from "../../stripe/gateway.js";

/**
 * What Stripe said of an organization's subscriptions, read outside any transaction, and the
 * count of syncs committed when the read began (null: no customer was recorded yet).
 */
export interface SubscriptionsRead {
  customerId: string | null;
  version: bigint | null;
  subscriptions: StripeSubscriptionFacts[];
}

/**
 * Reads the subscriptions of the organization's customer from Stripe. `customerId` names the
 * customer when none is recorded yet (a Checkout Session's, for its first subscription).
 */
export async function readSubscriptions({
  db,
  stripe,
  orgId,
  customerId,
}: {
  db: Kysely<Schema>;
  stripe: Pick<StripeGateway, "listSubscriptions">;
  orgId: string;
  customerId?: string | null | undefined;
}): Promise<SubscriptionsRead> {
  const recorded = await findCustomerSync(db, orgId);
  const customer = recorded?.customerId ?? customerId ?? null;
  return {
    customerId: customer,
    version: recorded?.version ?? null,
    subscriptions: customer ? await stripe.listSubscriptions(customer) : [],
  };
}

/**
 * Runs `apply` on what `read` found, in one short transaction under the organization's lock,
 * never with a Stripe call inside. If a sync of the subscription committed after the read began
 * (its `subscriptions` are then stale), the transaction writes nothing and Stripe is read again:
 * the last read to commit is always one that began after every earlier commit.
 */
export async function convergeWithStripe<Facts extends { subscriptions?: SubscriptionsRead | undefined }, T>({
  db,
  orgId,
  read,
  apply,
}: {
  db: Kysely<Schema>;
  orgId: string;
  read: () => Promise<Facts>;
  /** Given the organization as locked (undefined: there is no such organization). */
  apply: (tx: Kysely<Schema>, facts: Facts, org: OrgRow | undefined) => Promise<T>;
}): Promise<T> {
  for (let attempt = 1; attempt <= MAX_READS; attempt++) {
    const facts = await read();
    const outcome = await inTransaction(db, async (tx) => {
      const org = await lockOrg(tx, orgId);
      if (facts.subscriptions && !(await isCurrent(tx, orgId, facts.subscriptions))) return MOVED;
      return { value: await apply(tx, facts, org) };
    });
    if (outcome !== MOVED) return outcome.value;
  }
  throw new AppError(
    "unavailable",
    "The subscription kept changing while it was read from Stripe; try again",
  );
}

const MAX_READS = 5;
const MOVED = Symbol("moved");

async function isCurrent(tx: Kysely<Schema>, orgId: string, read: SubscriptionsRead): Promise<boolean> {
  return ((await findCustomerSync(tx, orgId))?.version ?? null) === read.version;
}

/** Re-reads the organization's subscription from Stripe and stores it; see `applySubscriptions`. */
export async function refreshSubscription({
  db,
  stripe,
  catalog,
  orgId,
  now,
  logger,
}: {
  db: Kysely<Schema>;
  stripe: Pick<StripeGateway, "listSubscriptions">;
  catalog: Catalog;
  orgId: string;
  now: Date;
  logger?: Pick<Logger, "warn" | "error"> | undefined;
}): Promise<SubscriptionRecord | null> {
  return convergeWithStripe({
    db,
    orgId,
    read: async () => ({ subscriptions: await readSubscriptions({ db, stripe, orgId }) }),
    apply: (tx, { subscriptions }, org) =>
      applySubscriptions({ tx, read: subscriptions, catalog, orgId, org, now, logger }),
  });
}

/**
 * Brings the organization's subscription in line with what Stripe said. Idempotent and
 * convergent: it trusts no event payload, takes every subscription of the organization's
 * customer and stores the one that counts (the newest live one, else the newest), so any number
 * of deliveries, in any order, leave the same state as the last read of Stripe.
 *
 * Run it through `convergeWithStripe`, which holds the organization's lock and makes sure no
 * newer read committed since `read` began.
 */
export async function applySubscriptions({
  tx,
  read,
  catalog,
  orgId,
  org,
  now,
  logger,
}: {
  tx: Kysely<Schema>;
  read: SubscriptionsRead;
  catalog: Catalog;
  orgId: string;
  /** The organization as `convergeWithStripe` locked it. */
  org: OrgRow | undefined;
  now: Date;
  logger?: Pick<Logger, "warn" | "error"> | undefined;
}): Promise<SubscriptionRecord | null> {
  const existing = (await findSubscription(tx, orgId)) ?? null;
  if (!read.customerId) return existing;
  // A customer recorded when the read began still is: `convergeWithStripe` saw its count unchanged.
  if (read.version === null) await saveCustomerId(tx, { orgId, customerId: read.customerId });
  const ours = read.subscriptions.filter((subscription) => {
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
  if (!org) return existing;
  const changed = !existing || !sameRecord(existing, record);
  if (changed) {
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
  const anchorDay = isLive(record.status) ? record.anchorDay : 1;
  const movedAnchor = await followCycleAnchor({ tx, org, anchorDay, now });
  // Only a sync that changes what is stored is counted: a read that began before it is stale.
  // One that changes nothing leaves a state that any later-begun read may replace.
  if (changed || movedAnchor) await countCustomerSync(tx, orgId);
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
}): Promise<boolean> {
  const schedule = cycleScheduleOf(org);
  const moved = moveAnchor({ schedule, anchorDay, now });
  if (moved === schedule) return false;
  await saveCycleSchedule(tx, { orgId: org.id, schedule: moved });
  return true;
}
