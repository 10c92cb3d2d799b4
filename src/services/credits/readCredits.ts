import type { Kysely } from "kysely";
import { type CreditEntryRow, creditFigures, listEntries } from "../../db/creditReads.js";
import type { Schema } from "../../db/schema.js";
import type { Catalog } from "../../domain/catalog.js";
import { readPlanStanding } from "../subscriptions/readPlanStanding.js";

/** The Credits page's figures, for the organization's current billing cycle. */
export async function readCredits({
  db,
  catalog,
  orgId,
  now,
}: {
  db: Kysely<Schema>;
  catalog: Catalog;
  orgId: string;
  now: Date;
}) {
  const { cycle } = await readPlanStanding({ db, catalog, orgId, now });
  return { cycle, ...(await creditFigures(db, { orgId, since: cycle.start, now })) };
}

/** A page of the ledger, newest first, and the cursor of the next page (null at the end). */
export async function readCreditEntries({
  db,
  orgId,
  cursor,
  limit,
}: {
  db: Kysely<Schema>;
  orgId: string;
  cursor: string | null;
  limit: number;
}): Promise<{ items: CreditEntryRow[]; nextCursor: string | null }> {
  const rows = await listEntries(db, { orgId, cursor, limit: limit + 1 });
  const items = rows.slice(0, limit);
  return { items, nextCursor: rows.length > limit ? (items.at(-1)?.id ?? null) : null };
}
