import type { Kysely } from "kysely";
import { insertOrg, type OrgRow, upsertMember } from "../db/orgRepo.js";
import type { Schema } from "../db/schema.js";
import { inTransaction } from "../db/transaction.js";
import { newId } from "../domain/ids.js";

const DAY_MS = 86_400_000;

/**
 * Creates an organization with its creator as owner, on the catalog's trial from now; the billing
 * email defaults to the creator's.
 */
export async function createOrg({
  db,
  owner,
  name,
  billingEmail,
  country,
  trialDays,
  now,
}: {
  db: Kysely<Schema>;
  owner: { id: string; email: string };
  name: string;
  billingEmail?: string | undefined;
  country?: string | undefined;
  trialDays: number;
  now: Date;
}): Promise<OrgRow> {
  return inTransaction(db, async (tx) => {
    const org = await insertOrg(tx, {
      id: newId("org", now.getTime()),
      name: name.trim(),
      billing_email: (billingEmail ?? owner.email).trim().toLowerCase(),
      country: country?.toUpperCase() ?? null,
      created_at: now,
      trial_ends_at: new Date(now.getTime() + trialDays * DAY_MS),
    });
    await upsertMember(tx, { orgId: org.id, userId: owner.id, role: "owner" });
    return org;
  });
}
