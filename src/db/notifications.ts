import { type Kysely, sql } from "kysely";
import type { Db } from "./client.js";
import type { Schema } from "./schema.js";

// What one process tells the others through PostgreSQL's NOTIFY, sent inside the writing
// transaction so listeners hear of it only once it commits (`Db.listen`).

/**
 * An organization changed: its usage, subscription, credits or overage tiers. The payload is the
 * organization's id; the entitlement cache, overage charging and quota emails follow it. (The
 * channel keeps the name it had when only usage sent it, so processes of every version hear it.)
 */
export const ORG_CHANGED_CHANNEL = "meterline_usage";

/** An API key was revoked, so no process keeps honouring it; the payload is the key's id. */
export const KEY_REVOKED_CHANNEL = "meterline_keys";

/** An email was queued: dispatchers in every process wake up; the payload is the organization's id. */
export const EMAIL_QUEUED_CHANNEL = "meterline_emails";

/** Tells every process, once the caller's transaction commits, that the organization changed. */
export async function notifyOrgChanged(db: Kysely<Schema>, orgId: string): Promise<void> {
  await sql`SELECT pg_notify(${ORG_CHANGED_CHANNEL}, ${orgId})`.execute(db);
}

/**
 * Calls `onOrg` with each organization that changed, in any process; `onGap` when changes may
 * have been missed (the listening connection was lost and is back). Answers the function that stops.
 */
export function listenForOrgChanges(
  db: Db,
  onOrg: (orgId: string) => void,
  onGap?: () => void,
): Promise<() => Promise<void>> {
  return db.listen(ORG_CHANGED_CHANNEL, onOrg, onGap);
}
