import type { Kysely } from "kysely";
import { insertOrg, type OrgRow, upsertMember } from "../../db/orgRepo.js";
import type { Schema } from "../../db/schema.js";
import { inTransaction } from "../../db/transaction.js";
import { lockUser } from "../../db/userRepo.js";
import { newId } from "../../domain/ids.js";
import { confirmedWhenSet, sendBillingEmailLink } from "../emails/confirmBillingEmail.js";
import { enforceActionLimit } from "./enforceActionLimit.js";

const DAY_MS = 86_400_000;

/**
 * Creates an organization with its creator as owner, on the catalog's trial from now; the billing
 * email defaults to the creator's. Another billing email waits for the link sent to it.
 *
 * `limited` (the API's requests) counts the organizations the person created in the day against
 * `actionLimits.orgsPerUser`, under a lock on the person, so the limit holds across processes and
 * restarts; the demo seed, tests and benchmarks create theirs without it.
 */
export async function createOrg({
  db,
  owner,
  name,
  billingEmail,
  country,
  trialDays,
  limited = false,
  now,
}: {
  db: Kysely<Schema>;
  owner: { id: string; email: string; name: string };
  name: string;
  billingEmail?: string | undefined;
  country?: string | undefined;
  trialDays: number;
  /** Whether the daily limit on new organizations applies: to requests, not to operators. */
  limited?: boolean;
  now: Date;
}): Promise<OrgRow> {
  return inTransaction(db, async (tx) => {
    if (limited) {
      await lockUser(tx, owner.id);
      await enforceActionLimit({ tx, action: "orgsPerUser", actor: owner.id, now });
    }
    const email = (billingEmail ?? owner.email).trim().toLowerCase();
    const org = await insertOrg(tx, {
      id: newId("org", now.getTime()),
      name: name.trim(),
      billing_email: email,
      billing_email_confirmed_at: confirmedWhenSet({ email, setBy: owner, now }),
      country: country?.toUpperCase() ?? null,
      created_at: now,
      created_by: owner.id,
      trial_ends_at: new Date(now.getTime() + trialDays * DAY_MS),
    });
    await upsertMember(tx, { orgId: org.id, userId: owner.id, role: "owner" });
    if (!org.billing_email_confirmed_at) await sendBillingEmailLink({ tx, org, setBy: owner, now });
    return org;
  });
}
