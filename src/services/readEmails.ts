import type { Kysely } from "kysely";
import { type EmailRow, listEmails } from "../db/emailRepo.js";
import type { Schema } from "../db/schema.js";
import { consoleLinks } from "../domain/consoleLinks.js";
import { type RenderedEmail, renderEmail } from "../domain/emails.js";

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
