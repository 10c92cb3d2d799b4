import type { Kysely } from "kysely";
import { findRole } from "../../db/orgRepo.js";
import type { Schema } from "../../db/schema.js";
import { can, type Permission, type Role } from "../../domain/access.js";
import { AppError } from "../../domain/errors.js";

/**
 * The one gate between a signed-in user and an organization. Someone who is not a member gets
 * the same 404 as for an org that does not exist, so ids reveal nothing; a member without the
 * permission gets 403.
 */
export async function authorizeOrg({
  db,
  userId,
  orgId,
  permission,
}: {
  db: Kysely<Schema>;
  userId: string;
  orgId: string;
  permission: Permission;
}): Promise<Role> {
  const role = await findRole(db, { orgId, userId });
  if (!role) throw new AppError("not_found", `Organization ${orgId} not found`);
  if (!can(role, permission)) {
    throw new AppError("forbidden", `Your role (${role}) does not allow ${permission} in this organization`);
  }
  return role;
}
