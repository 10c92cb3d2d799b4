import type { Kysely } from "kysely";
import type { Schema } from "../db/schema.js";
import { readCreditEntries } from "../services/credits/readCredits.js";
import { entryView } from "./creditSchemas.js";

/**
 * The organization's whole credit ledger as CSV, newest first: read a page of 500 entries at a
 * time, shown as the API shows them.
 */
export async function creditLedgerCsv({ db, orgId }: { db: Kysely<Schema>; orgId: string }): Promise<string> {
  const lines = ["id,type,amount,balance_after,metric,quantity,grant_id,description,occurred_at"];
  let cursor: string | null = null;
  do {
    const { items, nextCursor }: Awaited<ReturnType<typeof readCreditEntries>> = await readCreditEntries({
      db,
      orgId,
      cursor,
      limit: 500,
    });
    for (const row of items.map(entryView)) {
      lines.push(
        [
          row.id,
          row.type,
          row.amount,
          row.balance_after,
          row.metric,
          row.quantity,
          row.grant_id,
          row.description,
          row.occurred_at.toISOString(),
        ]
          .map(csvField)
          .join(","),
      );
    }
    cursor = nextCursor;
  } while (cursor);
  return `${lines.join("\n")}\n`;
}

function csvField(value: string | null): string {
  if (value === null) return "";
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}
