import type { Kysely } from "kysely";
import type { Interval } from "../domain/catalog.js";
import type { SubscriptionRecord } from "../domain/subscriptions.js";
import { notifyOrgChanged } from "./notifications.js";
import type { Schema } from "./schema.js";

/** Subscriptions, the Stripe customer of each organization, and the Checkout Sessions opened. */

export async function findSubscription(
  db: Kysely<Schema>,
  orgId: string,
): Promise<SubscriptionRecord | undefined> {
  const row = await db.selectFrom("subscriptions").selectAll().where("org_id", "=", orgId).executeTakeFirst();
  if (!row) return undefined;
  return {
    id: row.id,
    stripeSubscriptionId: row.stripe_subscription_id,
    plan: row.plan,
    interval: row.interval,
    status: row.status,
    currentPeriodStart: row.current_period_start,
    currentPeriodEnd: row.current_period_end,
    anchorDay: row.anchor_day,
    cancelAtPeriodEnd: row.cancel_at_period_end,
    pastDueSince: row.past_due_since,
  };
}

export async function saveSubscription(
  db: Kysely<Schema>,
  { orgId, record, now }: { orgId: string; record: SubscriptionRecord; now: Date },
): Promise<void> {
  const values = {
    id: record.id,
    stripe_subscription_id: record.stripeSubscriptionId,
    plan: record.plan,
    interval: record.interval,
    status: record.status,
    current_period_start: record.currentPeriodStart,
    current_period_end: record.currentPeriodEnd,
    anchor_day: record.anchorDay,
    cancel_at_period_end: record.cancelAtPeriodEnd,
    past_due_since: record.pastDueSince,
    updated_at: now,
  };
  await db
    .insertInto("subscriptions")
    .values({ org_id: orgId, ...values })
    .onConflict((oc) => oc.column("org_id").doUpdateSet(values))
    .execute();
  // Every process's entitlement cache learns of it once this commits.
  await notifyOrgChanged(db, orgId);
}

export async function findCustomerId(db: Kysely<Schema>, orgId: string): Promise<string | undefined> {
  const row = await db
    .selectFrom("stripe_customers")
    .select("customer_id")
    .where("org_id", "=", orgId)
    .executeTakeFirst();
  return row?.customer_id;
}

/**
 * The organization's customer and how many syncs from Stripe changed what is stored; a sync that
 * finds the count changed under the lock read Stripe before another sync's write.
 */
export async function findCustomerSync(
  db: Kysely<Schema>,
  orgId: string,
): Promise<{ customerId: string; version: bigint } | undefined> {
  const row = await db
    .selectFrom("stripe_customers")
    .select(["customer_id", "synced_version"])
    .where("org_id", "=", orgId)
    .executeTakeFirst();
  return row && { customerId: row.customer_id, version: row.synced_version };
}

/** Counts a sync from Stripe that changed what is stored; run under the organization's lock. */
export async function countCustomerSync(db: Kysely<Schema>, orgId: string): Promise<void> {
  await db
    .updateTable("stripe_customers")
    .set((eb) => ({ synced_version: eb("synced_version", "+", 1n) }))
    .where("org_id", "=", orgId)
    .execute();
}

export async function findOrgOfCustomer(db: Kysely<Schema>, customerId: string): Promise<string | undefined> {
  const row = await db
    .selectFrom("stripe_customers")
    .select("org_id")
    .where("customer_id", "=", customerId)
    .executeTakeFirst();
  return row?.org_id;
}

/** Records the organization's customer unless one is already recorded; answers the one that stands. */
export async function saveCustomerId(
  db: Kysely<Schema>,
  { orgId, customerId }: { orgId: string; customerId: string },
): Promise<string> {
  await db
    .insertInto("stripe_customers")
    .values({ org_id: orgId, customer_id: customerId })
    .onConflict((oc) => oc.column("org_id").doNothing())
    .execute();
  const stored = await findCustomerId(db, orgId);
  if (!stored) throw new Error(`customer of ${orgId} vanished after insert`);
  return stored;
}

export async function insertCheckoutSession(
  db: Kysely<Schema>,
  session: {
    orgId: string;
    sessionId: string;
    mode: "subscription" | "payment";
    plan: string | null;
    interval: Interval | null;
    createdBy: string | null;
    now: Date;
  },
): Promise<void> {
  await db
    .insertInto("checkout_sessions")
    .values({
      org_id: session.orgId,
      session_id: session.sessionId,
      mode: session.mode,
      plan: session.plan,
      interval: session.interval,
      status: "open",
      created_by: session.createdBy,
      created_at: session.now,
    })
    .execute();
}

export async function openCheckoutSessions(
  db: Kysely<Schema>,
  { orgId, mode }: { orgId: string; mode: "subscription" | "payment" },
): Promise<string[]> {
  const rows = await db
    .selectFrom("checkout_sessions")
    .select("session_id")
    .where("org_id", "=", orgId)
    .where("mode", "=", mode)
    .where("status", "=", "open")
    .execute();
  return rows.map((row) => row.session_id);
}

export async function closeCheckoutSession(
  db: Kysely<Schema>,
  { orgId, sessionId, status }: { orgId: string; sessionId: string; status: "complete" | "expired" },
): Promise<void> {
  await db
    .updateTable("checkout_sessions")
    .set({ status })
    .where("org_id", "=", orgId)
    .where("session_id", "=", sessionId)
    .execute();
}
