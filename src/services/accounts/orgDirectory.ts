import type { Kysely } from "kysely";
import { type ApiKeyRow, listApiKeys, revokeApiKey } from "../../db/apiKeyRepo.js";
import {
  findOrg,
  listMembers,
  listOrgsOfUser,
  lockOrg,
  type MemberRow,
  type OrgRow,
  updateOrg,
} from "../../db/orgRepo.js";
import type { Schema } from "../../db/schema.js";
import { inTransaction } from "../../db/transaction.js";
import { AppError } from "../../domain/errors.js";
import { confirmedWhenSet, sendBillingEmailLink } from "../emails/confirmBillingEmail.js";

/** Reads and small edits of organizations, their members and keys, for callers already authorized. */

export function orgsOfUser({ db, userId }: { db: Kysely<Schema>; userId: string }) {
  return listOrgsOfUser(db, userId);
}

export async function getOrg({ db, orgId }: { db: Kysely<Schema>; orgId: string }): Promise<OrgRow> {
  const org = await findOrg(db, orgId);
  if (!org) throw new AppError("not_found", `Organization ${orgId} not found`);
  return org;
}

/**
 * Changes the organization's name, billing email or country. A new billing email waits for the
 * link sent to it, unless it is the editor's own; setting a pending address again sends another
 * link, and setting the confirmed one again changes nothing.
 */
export async function editOrg({
  db,
  orgId,
  changes,
  editor,
  now,
}: {
  db: Kysely<Schema>;
  orgId: string;
  changes: {
    name?: string | undefined;
    billing_email?: string | undefined;
    country?: string | null | undefined;
  };
  editor: { email: string; name: string };
  now: Date;
}): Promise<OrgRow> {
  return inTransaction(db, async (tx) => {
    const current = await lockOrg(tx, orgId);
    if (!current) throw new AppError("not_found", `Organization ${orgId} not found`);
    const { billing_email: email, ...rest } = changes;
    const update: Parameters<typeof updateOrg>[2] = Object.fromEntries(
      Object.entries(rest).filter(([, value]) => value !== undefined),
    );
    const unchanged = email === current.billing_email && current.billing_email_confirmed_at !== null;
    if (email !== undefined && !unchanged) {
      update.billing_email = email;
      update.billing_email_confirmed_at = confirmedWhenSet({ email, setBy: editor, now });
    }
    const org = Object.keys(update).length ? await updateOrg(tx, orgId, update) : current;
    if (!org) throw new AppError("not_found", `Organization ${orgId} not found`);
    if (update.billing_email !== undefined && !org.billing_email_confirmed_at) {
      await sendBillingEmailLink({ tx, org, setBy: editor, now });
    }
    return org;
  });
}

export function membersOf({ db, orgId }: { db: Kysely<Schema>; orgId: string }): Promise<MemberRow[]> {
  return listMembers(db, orgId);
}

export function keysOf({ db, orgId }: { db: Kysely<Schema>; orgId: string }): Promise<ApiKeyRow[]> {
  return listApiKeys(db, orgId);
}

/** Revoking twice is the same as once: the first revocation time stays. */
export async function revokeKey({
  db,
  orgId,
  keyId,
  now,
}: {
  db: Kysely<Schema>;
  orgId: string;
  keyId: string;
  now: Date;
}): Promise<ApiKeyRow> {
  const key = await revokeApiKey(db, { orgId, id: keyId, now });
  if (!key) throw new AppError("not_found", `API key ${keyId} not found in organization ${orgId}`);
  return key;
}
