import { type Kysely, sql } from "kysely";
import { newId } from "../domain/ids.js";
import type { EntryType } from "../domain/ledger.js";
import type { Metric } from "../domain/usageEvents.js";
import type { CreditEntryRow } from "./creditReads.js";
import { ORG_CHANGED_CHANNEL } from "./notifications.js";
import type { Schema } from "./schema.js";
import { inTransaction } from "./transaction.js";

// The credit ledger's write path: every change to credits goes through `postOperation` under the
// organization's account lock; `addOverageCharged` records what overage it charged.

export interface PlannedEntry {
  type: EntryType;
  /** Signed micro-credits: in positive, out negative. */
  amount: bigint;
  /** The grant the entry moves credits in or out of; `"new"` for the grant this operation creates. */
  grantId: string | "new" | null;
  metric?: Metric | null;
  quantity?: string | null;
  description: string;
}

export class LedgerGuardError extends Error {}

/**
 * The one write path that changes credits. Posts an operation's entries once: the operation key
 * (`<key>#<n>` per entry, unique per organization) makes a retry return what was posted first.
 * Under the organization's account lock it appends the entries with the balance after each
 * (guarded: never below zero), then moves each grant's remainder (guarded by amount: no grant
 * below zero or above what it granted) and the balance, in one statement. CHECK constraints back
 * every guard. At most four statements, whatever the number of entries.
 */
export async function postOperation(
  db: Kysely<Schema>,
  {
    orgId,
    operationKey,
    entries,
    newGrant,
    now,
  }: {
    orgId: string;
    operationKey: string;
    entries: PlannedEntry[];
    newGrant?: {
      source: "purchase" | "grant";
      amount: bigint;
      expiresAt: Date;
      note: string | null;
      paymentIntentId?: string | null;
    };
    now: Date;
  },
): Promise<{ posted: boolean; entries: CreditEntryRow[] }> {
  return inTransaction(db, async (tx) => {
    let balance = await lockAccount(tx, { orgId, now });
    const grantId = newGrant ? newId("grt", now.getTime()) : null;
    const moves = new Map<string, bigint>();
    const rows = entries.map((entry, n): CreditEntryRow => {
      const target = entry.grantId === "new" ? grantId : entry.grantId;
      if (target && target !== grantId) moves.set(target, (moves.get(target) ?? 0n) + entry.amount);
      balance += entry.amount;
      if (balance < 0n) throw new LedgerGuardError(`balance of ${orgId} would go below zero`);
      return {
        org_id: orgId,
        id: newId("led", now.getTime()),
        type: entry.type,
        amount: entry.amount,
        balance_after: balance,
        grant_id: target,
        metric: entry.metric ?? null,
        quantity: entry.quantity ?? null,
        description: entry.description,
        idempotency_key: `${operationKey}#${n}`,
        occurred_at: now,
      };
    });
    const appended = await tx
      .insertInto("credit_entries")
      .values(rows)
      .onConflict((oc) => oc.columns(["org_id", "idempotency_key"]).doNothing())
      .returning("id")
      .execute();
    if (appended.length === 0)
      return { posted: false, entries: await entriesOf(tx, { orgId, operationKey }) };

    if (newGrant && grantId) {
      await tx
        .insertInto("credit_grants")
        .values({
          org_id: orgId,
          id: grantId,
          source: newGrant.source,
          amount: newGrant.amount,
          remaining: rows.reduce((sum, row) => (row.grant_id === grantId ? sum + row.amount : sum), 0n),
          expires_at: newGrant.expiresAt,
          note: newGrant.note,
          payment_intent_id: newGrant.paymentIntentId ?? null,
          created_at: now,
        })
        .execute();
    }
    const moved = await moveGrantsAndBalance(tx, { orgId, moves, balance, now });
    if (moved < moves.size) throw new LedgerGuardError(`a grant of ${orgId} cannot move that far`);
    return { posted: true, entries: rows };
  });
}

/**
 * Moves each grant's remainder by its amount where the guards allow, sets the balance, and
 * tells every process's entitlement cache at commit, in one statement; answers how many grants
 * moved.
 */
async function moveGrantsAndBalance(
  tx: Kysely<Schema>,
  { orgId, moves, balance, now }: { orgId: string; moves: Map<string, bigint>; balance: bigint; now: Date },
): Promise<number> {
  const account = sql`UPDATE credit_accounts SET balance = ${balance}, updated_at = ${now} WHERE org_id = ${orgId}`;
  const notify = sql`pg_notify(${ORG_CHANGED_CHANNEL}, ${orgId})`;
  if (moves.size === 0) {
    await sql`WITH account AS (${account}) SELECT ${notify}`.execute(tx);
    return 0;
  }
  const values = sql.join([...moves].map(([id, amount]) => sql`(${id}, ${amount}::bigint)`));
  const result = await sql<{ moved: string | number }>`
    WITH moved AS (
      UPDATE credit_grants AS g SET remaining = g.remaining + m.amount
      FROM (VALUES ${values}) AS m (id, amount)
      WHERE g.org_id = ${orgId} AND g.id = m.id
        AND g.remaining + m.amount >= 0 AND g.remaining + m.amount <= g.amount
      RETURNING g.id
    ), account AS (${account})
    SELECT count(*) AS moved, ${notify} FROM moved
  `.execute(tx);
  return Number(result.rows[0]?.moved ?? 0);
}

/**
 * Takes the organization's credit lock for the rest of the transaction (creating its account on
 * first use) and answers its balance: everything that moves its credits takes turns here.
 */
export async function lockAccount(
  db: Kysely<Schema>,
  { orgId, now }: { orgId: string; now: Date },
): Promise<bigint> {
  const locked = () =>
    db
      .selectFrom("credit_accounts")
      .select("balance")
      .where("org_id", "=", orgId)
      .forUpdate()
      .executeTakeFirst();
  let account = await locked();
  if (!account) {
    await db
      .insertInto("credit_accounts")
      .values({ org_id: orgId, balance: 0n, updated_at: now })
      .onConflict((oc) => oc.column("org_id").doNothing())
      .execute();
    account = await locked();
  }
  if (!account) throw new Error(`no credit account for ${orgId}`);
  return BigInt(account.balance);
}

export async function addOverageCharged(
  db: Kysely<Schema>,
  {
    orgId,
    metric,
    cycleStart,
    amount,
  }: { orgId: string; metric: Metric; cycleStart: string; amount: bigint },
): Promise<void> {
  await db
    .insertInto("overage_charges")
    .values({ org_id: orgId, metric, cycle_start: cycleStart, charged: amount })
    .onConflict((oc) =>
      oc
        .columns(["org_id", "metric", "cycle_start"])
        .doUpdateSet((eb) => ({ charged: eb("overage_charges.charged", "+", amount) })),
    )
    .execute();
}

async function entriesOf(
  db: Kysely<Schema>,
  { orgId, operationKey }: { orgId: string; operationKey: string },
): Promise<CreditEntryRow[]> {
  const first = await db
    .selectFrom("credit_entries")
    .selectAll()
    .where("org_id", "=", orgId)
    .where("idempotency_key", "=", `${operationKey}#0`)
    .executeTakeFirst();
  if (!first) return [];
  return db
    .selectFrom("credit_entries")
    .selectAll()
    .where("org_id", "=", orgId)
    .where("idempotency_key", "like", `${operationKey.replace(/[\\%_]/g, "\\$&")}#%`)
    .orderBy("id")
    .execute();
}
