import type { Kysely } from "kysely";
import { type EmailRow, listEmails, optedOutKinds, setOptedOutKinds } from "../db/emailRepo.js";
import type { Schema } from "../db/schema.js";
import { inTransaction } from "../db/transaction.js";
import { type MemberEmailKind, memberEmailKinds, type RenderedEmail, renderEmail } from "../domain/emails.js";
import { consoleLinks } from "./sendEmails.js";

export type EmailView = EmailRow & RenderedEmail;

/**
 * A page of the outbox, newest first, each email as it reads (or read) when sent; of one
 * organization, or of all (`meterline mail list`). The cursor of the next page is null at the end.
 */
export async function readEmails({
  db,
  orgId,
  publicUrl,
  cursor,
  limit,
}: {
  db: Kysely<Schema>;
  orgId: string | null;
  publicUrl: string;
  cursor: string | null;
  limit: number;
}): Promise<{ items: EmailView[]; nextCursor: string | null }> {
  const rows = await listEmails(db, { orgId, cursor, limit: limit + 1 });
  const items = rows
    .slice(0, limit)
    .map((row) => ({ ...row, ...renderEmail(row.facts, consoleLinks(publicUrl, row.org_id)) }));
  return { items, nextCursor: rows.length > limit ? (items.at(-1)?.id ?? null) : null };
}

/** Which kinds of email the member receives for the organization. */
export async function readEmailPreferences({
  db,
  orgId,
  userId,
}: {
  db: Kysely<Schema>;
  orgId: string;
  userId: string;
}): Promise<Record<MemberEmailKind, boolean>> {
  const out = new Set(await optedOutKinds(db, { orgId, userId }));
  return Object.fromEntries(memberEmailKinds.map((kind) => [kind, !out.has(kind)])) as Record<
    MemberEmailKind,
    boolean
  >;
}

/** Sets which kinds the member receives; kinds not named keep their setting. */
export async function setEmailPreferences({
  db,
  orgId,
  userId,
  receive,
}: {
  db: Kysely<Schema>;
  orgId: string;
  userId: string;
  receive: Partial<Record<MemberEmailKind, boolean>>;
}): Promise<Record<MemberEmailKind, boolean>> {
  return inTransaction(db, async (tx) => {
    const current = await readEmailPreferences({ db: tx, orgId, userId });
    const next = { ...current, ...receive };
    const out = memberEmailKinds.filter((kind) => next[kind] === false);
    await setOptedOutKinds(tx, { orgId, userId, kinds: out });
    return readEmailPreferences({ db: tx, orgId, userId });
  });
}
