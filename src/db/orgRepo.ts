import { type Kysely, sql } from "kysely";
import type { Role } from "../domain/access.js";
import type { TierOverrides } from "../domain/catalog.js";
import type { CycleSchedule } from "../domain/cycles.js";
import { notifyOrgChanged } from "./notifications.js";
import type { OrgsTable, Schema } from "./schema.js";
import { dayOf } from "./usageAggregateRepo.js";

export type OrgRow = Pick<
  OrgsTable,
  "id" | "name" | "billing_email" | "billing_email_confirmed_at" | "country" | "trial_ends_at"
> & {
  created_at: Date;
  cycle_anchor_day: number;
  cycle_bridge_start: string | null;
  cycle_bridge_end: string | null;
  cycle_before_bridge: string | null;
  credit_tiers: TierOverrides | null;
};

const orgColumns = [
  "id",
  "name",
  "billing_email",
  "billing_email_confirmed_at",
  "country",
  "created_at",
  "trial_ends_at",
  "cycle_anchor_day",
  "cycle_bridge_start",
  "cycle_bridge_end",
  "cycle_before_bridge",
  "credit_tiers",
] as const;

type CycleColumns = "cycle_anchor_day" | "cycle_bridge_start" | "cycle_bridge_end" | "cycle_before_bridge";

export async function insertOrg(
  db: Kysely<Schema>,
  org: Omit<OrgRow, CycleColumns | "credit_tiers"> & { created_by: string },
): Promise<OrgRow> {
  return db.insertInto("orgs").values(org).returning(orgColumns).executeTakeFirstOrThrow();
}

export async function findOrg(db: Kysely<Schema>, id: string): Promise<OrgRow | undefined> {
  return db.selectFrom("orgs").select(orgColumns).where("id", "=", id).executeTakeFirst();
}

export async function updateOrg(
  db: Kysely<Schema>,
  id: string,
  changes: Partial<Pick<OrgsTable, "name" | "billing_email" | "billing_email_confirmed_at" | "country">>,
): Promise<OrgRow | undefined> {
  return db.updateTable("orgs").set(changes).where("id", "=", id).returning(orgColumns).executeTakeFirst();
}

/** How the organization's billing cycles fall, from its row. */
export function cycleScheduleOf(org: Pick<OrgRow, CycleColumns>): CycleSchedule {
  const { cycle_bridge_start: start, cycle_bridge_end: end, cycle_before_bridge: before } = org;
  return {
    anchorDay: org.cycle_anchor_day,
    bridge: start && end ? { start: new Date(start), end: new Date(end) } : null,
    beforeBridge: before ? new Date(before) : null,
  };
}

/**
 * Sets how the organization's cycles fall. The row lock (FOR UPDATE, which ingestion's key-share
 * lock waits for) orders it with every batch of usage, so no event is counted by the old
 * schedule after the new one is in place.
 */
export async function saveCycleSchedule(
  db: Kysely<Schema>,
  { orgId, schedule }: { orgId: string; schedule: CycleSchedule },
): Promise<void> {
  await sql`SELECT id FROM orgs WHERE id = ${orgId} FOR UPDATE`.execute(db);
  await db
    .updateTable("orgs")
    .set({
      cycle_anchor_day: schedule.anchorDay,
      cycle_bridge_start: schedule.bridge ? dayOf(schedule.bridge.start) : null,
      cycle_bridge_end: schedule.bridge ? dayOf(schedule.bridge.end) : null,
      cycle_before_bridge: schedule.beforeBridge ? dayOf(schedule.beforeBridge) : null,
    })
    .where("id", "=", orgId)
    .execute();
  await notifyOrgChanged(db, orgId);
}

/**
 * Marks the billing email confirmed, if it still is `email`: a link to an address since replaced
 * confirms nothing. Answers the organization when it did.
 */
export async function markBillingEmailConfirmed(
  db: Kysely<Schema>,
  { orgId, email, now }: { orgId: string; email: string; now: Date },
): Promise<OrgRow | undefined> {
  return db
    .updateTable("orgs")
    .set((eb) => ({ billing_email_confirmed_at: eb.fn.coalesce("billing_email_confirmed_at", eb.val(now)) }))
    .where("id", "=", orgId)
    .where("billing_email", "=", email)
    .returning(orgColumns)
    .executeTakeFirst();
}

/**
 * Replaces the organization's own overage tiers (null: the catalog's again). Entitlements and
 * overage charging in every process follow at commit.
 */
export async function setCreditTiers(
  db: Kysely<Schema>,
  { orgId, overrides }: { orgId: string; overrides: TierOverrides | null },
): Promise<OrgRow | undefined> {
  const row = await db
    .updateTable("orgs")
    .set({ credit_tiers: overrides ? JSON.stringify(overrides) : null })
    .where("id", "=", orgId)
    .returning(orgColumns)
    .executeTakeFirst();
  if (row) await notifyOrgChanged(db, orgId);
  return row;
}

export async function findRole(
  db: Kysely<Schema>,
  { orgId, userId }: { orgId: string; userId: string },
): Promise<Role | undefined> {
  const row = await db
    .selectFrom("org_members")
    .select("role")
    .where("org_id", "=", orgId)
    .where("user_id", "=", userId)
    .executeTakeFirst();
  return row?.role;
}

export async function upsertMember(
  db: Kysely<Schema>,
  member: { orgId: string; userId: string; role: Role },
): Promise<{ role: Role; created_at: Date }> {
  return db
    .insertInto("org_members")
    .values({ org_id: member.orgId, user_id: member.userId, role: member.role })
    .onConflict((oc) => oc.columns(["org_id", "user_id"]).doUpdateSet({ role: member.role }))
    .returning(["role", "created_at"])
    .executeTakeFirstOrThrow();
}

export interface MemberRow {
  user_id: string;
  email: string;
  name: string;
  role: Role;
  created_at: Date;
}

export async function listMembers(db: Kysely<Schema>, orgId: string): Promise<MemberRow[]> {
  return db
    .selectFrom("org_members")
    .innerJoin("users", "users.id", "org_members.user_id")
    .select([
      "org_members.user_id",
      "users.email",
      "users.name",
      "org_members.role",
      "org_members.created_at",
    ])
    .where("org_members.org_id", "=", orgId)
    .orderBy("org_members.created_at")
    .orderBy("org_members.user_id")
    .execute();
}

/** Owners of the org, locked for the rest of the transaction so two demotions cannot race. */
export async function lockOwners(db: Kysely<Schema>, orgId: string): Promise<string[]> {
  const rows = await db
    .selectFrom("org_members")
    .select("user_id")
    .where("org_id", "=", orgId)
    .where("role", "=", "owner")
    .forUpdate()
    .execute();
  return rows.map((row) => row.user_id);
}

export async function listOrgsOfUser(
  db: Kysely<Schema>,
  userId: string,
): Promise<{ id: string; name: string; role: Role }[]> {
  return db
    .selectFrom("org_members")
    .innerJoin("orgs", "orgs.id", "org_members.org_id")
    .select(["orgs.id", "orgs.name", "org_members.role"])
    .where("org_members.user_id", "=", userId)
    .orderBy("orgs.created_at")
    .orderBy("orgs.id")
    .execute();
}

/**
 * Locks the organization's row for the rest of the transaction: billing changes of one
 * organization (webhook convergence, checkouts) take turns, so a stale read cannot win.
 */
export async function lockOrg(db: Kysely<Schema>, orgId: string): Promise<OrgRow | undefined> {
  // NO KEY UPDATE: rows that reference the organization (usage events) can still be written.
  return db.selectFrom("orgs").select(orgColumns).where("id", "=", orgId).forNoKeyUpdate().executeTakeFirst();
}
