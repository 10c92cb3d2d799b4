import { type Kysely, type Selectable, sql } from "kysely";
import type { EmailFacts, EmailKind } from "../domain/emails.js";
import { newId } from "../domain/ids.js";
import { EMAIL_QUEUED_CHANNEL } from "./notifications.js";
import type { EmailsTable, Schema } from "./schema.js";

export type EmailRow = Selectable<EmailsTable>;

/**
 * Puts an email in the outbox, in the caller's transaction, unless one with the same dedupe key
 * exists for the organization; answers whether it was queued. Recipients: the organization's
 * owners and billing admins who have not opted out of this kind, and its billing email once
 * confirmed, each address once; with none of them left, nothing is queued. One statement.
 */
export async function queueEmail(
  db: Kysely<Schema>,
  {
    orgId,
    dedupeKey,
    facts,
    to,
    now,
  }: {
    orgId: string;
    dedupeKey: string;
    facts: EmailFacts;
    /** Instead of the organization's billing contacts (a contact-sales request goes to support). */
    to?: string[];
    now: Date;
  },
): Promise<boolean> {
  const recipients = to
    ? sql`${to}::text[]`
    : sql`ARRAY(
        SELECT DISTINCT ON (lower(email)) email FROM (
          SELECT u.email FROM org_members m JOIN users u ON u.id = m.user_id
          WHERE m.org_id = ${orgId} AND m.role IN ('owner', 'billing_admin')
            AND NOT EXISTS (
              SELECT 1 FROM email_opt_outs o
              WHERE o.org_id = m.org_id AND o.user_id = m.user_id AND o.kind = ${facts.kind}
            )
          UNION ALL
          SELECT billing_email FROM orgs WHERE id = ${orgId} AND billing_email_confirmed_at IS NOT NULL
        ) AS contacts
        ORDER BY lower(email)
      )`;
  const result = await sql<{ id: string }>`
    WITH queued AS (
      INSERT INTO emails (org_id, id, kind, dedupe_key, facts, recipients, status, next_attempt_at, created_at)
      SELECT ${orgId}, ${newId("eml", now.getTime())}, ${facts.kind}, ${dedupeKey}, ${JSON.stringify(facts)}::jsonb,
        contacts.recipients, 'pending', ${now}, ${now}
      FROM (SELECT ${recipients} AS recipients) AS contacts
      WHERE cardinality(contacts.recipients) > 0
      ON CONFLICT (org_id, dedupe_key) DO NOTHING
      RETURNING id
    )
    SELECT id, pg_notify(${EMAIL_QUEUED_CHANNEL}, ${orgId}) FROM queued
  `.execute(db);
  return result.rows.length > 0;
}

/**
 * Claims up to `limit` emails due at `now` for one dispatcher, committed before anything is
 * sent: `SKIP LOCKED` keeps two dispatchers off the same row, and the claim means no one sends
 * it again.
 */
export async function claimDueEmails(
  db: Kysely<Schema>,
  { now, limit }: { now: Date; limit: number },
): Promise<EmailRow[]> {
  const result = await sql<EmailRow>`
    UPDATE emails SET status = 'sending', claimed_at = ${now}, attempts = attempts + 1
    WHERE (org_id, id) IN (
      SELECT org_id, id FROM emails
      WHERE status = 'pending' AND next_attempt_at <= ${now}
      ORDER BY next_attempt_at, id
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED
    )
    RETURNING *
  `.execute(db);
  return result.rows.sort((a, b) => (a.id < b.id ? -1 : 1));
}

export async function markEmailSent(
  db: Kysely<Schema>,
  { email, transport, now }: { email: EmailRow; transport: string; now: Date },
): Promise<void> {
  await db
    .updateTable("emails")
    .set({ status: "sent", sent_at: now, transport, last_error: null })
    .where("org_id", "=", email.org_id)
    .where("id", "=", email.id)
    .where("status", "=", "sending")
    .execute();
}

/** After a failed attempt: tried again at `retryAt`, or given up on (null). */
export async function markEmailFailed(
  db: Kysely<Schema>,
  { email, error, retryAt }: { email: EmailRow; error: string; retryAt: Date | null },
): Promise<void> {
  await db
    .updateTable("emails")
    .set(
      retryAt
        ? { status: "pending", next_attempt_at: retryAt, last_error: error }
        : { status: "failed", last_error: error },
    )
    .where("org_id", "=", email.org_id)
    .where("id", "=", email.id)
    .where("status", "=", "sending")
    .execute();
}

/**
 * Claims older than `before` belong to a dispatcher that stopped mid-send: the email may have
 * gone out, so it is marked unconfirmed rather than sent again. Answers how many.
 */
export async function abandonStaleClaims(db: Kysely<Schema>, { before }: { before: Date }): Promise<number> {
  const rows = await db
    .updateTable("emails")
    .set({
      status: "unconfirmed",
      last_error: "the sending process stopped before confirming; not sent again, to avoid a duplicate",
    })
    .where("status", "=", "sending")
    .where("claimed_at", "<", before)
    .returning("id")
    .execute();
  return rows.length;
}

/** The outbox newest first, of one organization or all, `limit` after `cursor` (an email id). */
export async function listEmails(
  db: Kysely<Schema>,
  { orgId, cursor, limit }: { orgId: string | null; cursor: string | null; limit: number },
): Promise<EmailRow[]> {
  let query = db.selectFrom("emails").selectAll();
  if (orgId) query = query.where("org_id", "=", orgId);
  if (cursor) query = query.where("id", "<", cursor);
  return query.orderBy("id", "desc").limit(limit).execute();
}

export async function optedOutKinds(
  db: Kysely<Schema>,
  { orgId, userId }: { orgId: string; userId: string },
): Promise<EmailKind[]> {
  const rows = await db
    .selectFrom("email_opt_outs")
    .select("kind")
    .where("org_id", "=", orgId)
    .where("user_id", "=", userId)
    .execute();
  return rows.map((row) => row.kind);
}

/** Replaces the kinds a member opted out of for an organization. */
export async function setOptedOutKinds(
  db: Kysely<Schema>,
  { orgId, userId, kinds }: { orgId: string; userId: string; kinds: EmailKind[] },
): Promise<void> {
  await db.deleteFrom("email_opt_outs").where("org_id", "=", orgId).where("user_id", "=", userId).execute();
  if (kinds.length > 0) {
    await db
      .insertInto("email_opt_outs")
      .values(kinds.map((kind) => ({ org_id: orgId, user_id: userId, kind })))
      .onConflict((oc) => oc.doNothing())
      .execute();
  }
}

/**
 * Organizations with usage in the last month that were sent no email of `kind` since `since`:
 * those a periodic email (the plan advice) may be due to.
 */
export async function orgsDueEmail(
  db: Kysely<Schema>,
  { kind, since, activeSince }: { kind: EmailKind; since: Date; activeSince: Date },
): Promise<string[]> {
  const day = activeSince.toISOString().slice(0, 10);
  const result = await sql<{ id: string }>`
    SELECT o.id FROM orgs o
    WHERE NOT EXISTS (SELECT 1 FROM emails e WHERE e.org_id = o.id AND e.kind = ${kind} AND e.created_at > ${since})
      AND (
        EXISTS (SELECT 1 FROM mau_counts m WHERE m.org_id = o.id AND m.cycle_start >= ${day}::date - 31)
        OR EXISTS (SELECT 1 FROM usage_daily d WHERE d.org_id = o.id AND d.day >= ${day}::date)
        OR EXISTS (SELECT 1 FROM storage_gauges s WHERE s.org_id = o.id AND s.bytes > 0)
      )
    ORDER BY o.id
  `.execute(db);
  return result.rows.map((row) => row.id);
}
