import { type Kysely, sql } from "kysely";
import type { LimitedAction } from "../domain/actionLimits.js";
import type { Schema } from "./schema.js";

/** Where each limited action leaves its rows, and the column naming who acted. */
const actionRows = {
  orgsPerUser: { table: "orgs", actor: "created_by" },
  apiKeysPerOrg: { table: "api_keys", actor: "org_id" },
  contactSalesPerOrg: { table: "contact_requests", actor: "org_id" },
  billingEmailLinksPerOrg: { table: "billing_email_confirmations", actor: "org_id" },
} as const satisfies Record<LimitedAction, { table: keyof Schema; actor: string }>;

/** When `actor` last did `action` since `since`, newest first, at most `max` times. */
export async function latestActions(
  db: Kysely<Schema>,
  { action, actor, since, max }: { action: LimitedAction; actor: string; since: Date; max: number },
): Promise<Date[]> {
  const { table, actor: column } = actionRows[action];
  const result = await sql<{ created_at: Date }>`
    SELECT created_at FROM ${sql.table(table)}
    WHERE ${sql.ref(column)} = ${actor} AND created_at > ${since}
    ORDER BY created_at DESC LIMIT ${max}
  `.execute(db);
  return result.rows.map((row) => new Date(row.created_at));
}
