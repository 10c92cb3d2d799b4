import type { Kysely } from "kysely";
import { type ApiKeyRow, listApiKeys, revokeApiKey } from "../db/apiKeyRepo.js";
import {
  findOrg,
  listMembers,
  listOrgsOfUser,
  type MemberRow,
  type OrgRow,
  updateOrg,
} from "../db/orgRepo.js";
import type { Schema } from "../db/schema.js";
import { AppError } from "../domain/errors.js";

/** Reads and small edits of organizations, their members and keys, for callers already authorized. */

export function orgsOfUser({ db, userId }: { db: Kysely<Schema>; userId: string }) {
  return listOrgsOfUser(db, userId);
}

export async function getOrg({ db, orgId }: { db: Kysely<Schema>; orgId: string }): Promise<OrgRow> {
  const org = await findOrg(db, orgId);
  if (!org) throw new AppError("not_found", `Organization ${orgId} not found`);
  return org;
}

export async function editOrg({
  db,
  orgId,
  changes,
}: {
  db: Kysely<Schema>;
  orgId: string;
  changes: {
    name?: string | undefined;
    billing_email?: string | undefined;
    country?: string | null | undefined;
  };
}): Promise<OrgRow> {
  const defined = Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined));
  const org = Object.keys(defined).length ? await updateOrg(db, orgId, defined) : await findOrg(db, orgId);
  if (!org) throw new AppError("not_found", `Organization ${orgId} not found`);
  return org;
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
