import { type Kysely, sql } from "kysely";
import type { Metric } from "../domain/usageEvents.js";
import type { CreditEntriesTable, CreditGrantsTable, Schema } from "./schema.js";

// Reads of the credit ledger: balances, grants, entries and what overage was charged. Nothing
// here writes; changes go through `creditPosting.ts`.

export type CreditEntryRow = CreditEntriesTable;
export type CreditGrantRow = CreditGrantsTable;

/** Credits left in unexpired grants, and credits those grants granted (the Credits page's total). */
export async function availableCredits(
  db: Kysely<Schema>,
  { orgId, now }: { orgId: string; now: Date },
): Promise<{ available: bigint; total: bigint }> {
  const row = await db
    .selectFrom("credit_grants")
    .select((eb) => [
      eb.fn.coalesce(eb.fn.sum<string>("remaining"), eb.val("0")).as("available"),
      eb.fn.coalesce(eb.fn.sum<string>("amount"), eb.val("0")).as("total"),
    ])
    .where("org_id", "=", orgId)
    .where("expires_at", ">", now)
    .executeTakeFirst();
  return { available: BigInt(row?.available ?? 0), total: BigInt(row?.total ?? 0) };
}

/** Grants with credits left and not yet expired. */
export async function spendableGrants(
  db: Kysely<Schema>,
  { orgId, now }: { orgId: string; now: Date },
): Promise<{ id: string; remaining: bigint; expiresAt: Date; createdAt: Date }[]> {
  const rows = await db
    .selectFrom("credit_grants")
    .select(["id", "remaining", "expires_at", "created_at"])
    .where("org_id", "=", orgId)
    .where("remaining", ">", 0n)
    .where("expires_at", ">", now)
    .orderBy("expires_at")
    .orderBy("created_at")
    .execute();
  return rows.map((row) => ({
    id: row.id,
    remaining: BigInt(row.remaining),
    expiresAt: row.expires_at,
    createdAt: row.created_at,
  }));
}

/** What was deducted so far for each metric's overage in the cycle. */
export async function overageCharged(
  db: Kysely<Schema>,
  { orgId, cycleStart }: { orgId: string; cycleStart: string },
): Promise<Map<Metric, bigint>> {
  const rows = await db
    .selectFrom("overage_charges")
    .select(["metric", "charged"])
    .where("org_id", "=", orgId)
    .where("cycle_start", "=", cycleStart)
    .execute();
  return new Map(rows.map((row) => [row.metric, BigInt(row.charged)]));
}

export interface CreditFigures {
  available: bigint;
  total: bigint;
  usedSince: bigint;
  nextExpiry: Date | null;
  balance: bigint;
}

/** The Credits page's figures: unexpired remainders and grants, deductions since `since`. */
export async function creditFigures(
  db: Kysely<Schema>,
  { orgId, since, now }: { orgId: string; since: Date; now: Date },
): Promise<CreditFigures> {
  const result = await sql<{
    available: string;
    total: string;
    used: string;
    next_expiry: Date | null;
    balance: string;
  }>`
    SELECT
      (SELECT coalesce(sum(remaining), 0) FROM credit_grants WHERE org_id = ${orgId} AND expires_at > ${now}) AS available,
      (SELECT coalesce(sum(amount), 0) FROM credit_grants WHERE org_id = ${orgId} AND expires_at > ${now}) AS total,
      (SELECT coalesce(-sum(amount), 0) FROM credit_entries
        WHERE org_id = ${orgId} AND type = 'deduction' AND occurred_at >= ${since}) AS used,
      (SELECT min(expires_at) FROM credit_grants WHERE org_id = ${orgId} AND remaining > 0 AND expires_at > ${now}) AS next_expiry,
      (SELECT coalesce(max(balance), 0) FROM credit_accounts WHERE org_id = ${orgId}) AS balance
  `.execute(db);
  const row = result.rows[0];
  if (!row) throw new Error("credit figures answered no row");
  return {
    available: BigInt(row.available),
    total: BigInt(row.total),
    usedSince: BigInt(row.used),
    nextExpiry: row.next_expiry ? new Date(row.next_expiry) : null,
    balance: BigInt(row.balance),
  };
}

/** Entries newest first, `limit` of them after `cursor` (an entry id: ids are time-ordered). */
export async function listEntries(
  db: Kysely<Schema>,
  { orgId, cursor, limit }: { orgId: string; cursor: string | null; limit: number },
): Promise<CreditEntryRow[]> {
  let query = db.selectFrom("credit_entries").selectAll().where("org_id", "=", orgId);
  if (cursor) query = query.where("id", "<", cursor);
  return query.orderBy("id", "desc").limit(limit).execute();
}

/** The grant a Stripe payment bought, and what refunds already took back from it. */
export async function purchaseOfPayment(
  db: Kysely<Schema>,
  { orgId, paymentIntentId }: { orgId: string; paymentIntentId: string },
): Promise<{ grant: CreditGrantRow; refunded: bigint } | undefined> {
  const grant = await db
    .selectFrom("credit_grants")
    .selectAll()
    .where("org_id", "=", orgId)
    .where("payment_intent_id", "=", paymentIntentId)
    .executeTakeFirst();
  if (!grant) return undefined;
  const row = await db
    .selectFrom("credit_entries")
    .select((eb) => eb.fn.coalesce(eb.fn.sum<string>("amount"), eb.val("0")).as("total"))
    .where("org_id", "=", orgId)
    .where("grant_id", "=", grant.id)
    .where("type", "=", "refund")
    .executeTakeFirst();
  return { grant, refunded: -BigInt(row?.total ?? 0) };
}
