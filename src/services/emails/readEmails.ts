import type { Kysely } from "kysely";
import { type EmailRow, listEmails } from "../../db/emailRepo.js";
import type { Schema } from "../../db/schema.js";
import { consoleLinks } from "../../domain/consoleLinks.js";
import { type RenderedEmail, renderEmail } from "../../domain/emailTexts.js";

export type EmailView = EmailRow & RenderedEmail;

/**
 * A page of the outbox, newest first, each email as it reads (or read) when sent; of one
 * organization, or of all (`meterline mail list`). The cursor of the next page is null at the end.
 *
 * A billing email's confirmation link proves that whoever opens it reads that address, so the
 * list the organization's members see (`forMembers`) shows that email without its link; the
 * operator's (the CLI, which is the local mailbox without SMTP) shows it whole.
 */
export async function readEmails({
  db,
  orgId,
  publicUrl,
  cursor,
  limit,
  forMembers = false,
}: {
  db: Kysely<Schema>;
  orgId: string | null;
  publicUrl: string;
  cursor: string | null;
  limit: number;
  forMembers?: boolean;
}): Promise<{ items: EmailView[]; nextCursor: string | null }> {
  const rows = await listEmails(db, { orgId, cursor, limit: limit + 1 });
  const items = rows.slice(0, limit).map((row) => {
    const links = consoleLinks(publicUrl, row.org_id);
    const shown = forMembers ? { ...links, confirmBillingEmail: () => "(in the email only)" } : links;
    return { ...row, ...renderEmail(row.facts, shown) };
  });
  return { items, nextCursor: rows.length > limit ? (items.at(-1)?.id ?? null) : null };
}
