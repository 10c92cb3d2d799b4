import type { Kysely } from "kysely";
import { insertOrg, type OrgRow, upsertMember } from "../db/orgRepo.js";
import type { Schema } from "../db/schema.js";
import { inTransaction } from "../db/transaction.js";
import { newId } from "../domain/ids.js";

/** Creates an organization with its creator as owner; the billing email defaults to the creator's. */
export async function createOrg({
  db,
  owner,
  name,
  billingEmail,
  country,
  now,
}: {
  db: Kysely<Schema>;
  owner: { id: string; email: string };
  name: string;
  billingEmail?: string | undefined;
  country?: string | undefined;
  now: Date;
}): Promise<OrgRow> {
  return inTransaction(db, async (tx) => {
    const org = await insertOrg(tx, {
      id: newId("org", now.getTime()),
      name: name.trim(),
      billing_email: (billingEmail ?? owner.email).trim().toLowerCase(),
      country: country?.toUpperCase() ?? null,
    });
    await upsertMember(tx, { orgId: org.id, userId: owner.id, role: "owner" });
    return org;
  });
}
