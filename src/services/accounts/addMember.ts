import type { Kysely } from "kysely";
import { findRole, lockOwners, type MemberRow, upsertMember } from "../../db/orgRepo.js";
import type { Schema } from "../../db/schema.js";
import { inTransaction } from "../../db/transaction.js";
import { findUserByEmail } from "../../db/userRepo.js";
import { canAssignRole, type Role } from "../../domain/access.js";
import { AppError } from "../../domain/errors.js";

/**
 * Adds a user to the organization, or changes the role of one already in it (so repeating the
 * same request changes nothing). The person must have signed up first. The actor may neither
 * grant nor take away a role with powers it lacks, and an organization always keeps an owner.
 */
export async function addMember({
  db,
  orgId,
  actorRole,
  email,
  role,
}: {
  db: Kysely<Schema>;
  orgId: string;
  actorRole: Role;
  email: string;
  role: Role;
}): Promise<MemberRow> {
  if (!canAssignRole(actorRole, role)) {
    throw new AppError("forbidden", `Your role (${actorRole}) cannot make someone ${role}`);
  }
  return inTransaction(db, async (tx) => {
    const user = await findUserByEmail(tx, email.trim().toLowerCase());
    if (!user) {
      throw new AppError("not_found", `No account uses ${email}; ask them to sign up first, then add them`);
    }
    const current = await findRole(tx, { orgId, userId: user.id });
    if (current && !canAssignRole(actorRole, current)) {
      throw new AppError("forbidden", `Your role (${actorRole}) cannot change the role of a ${current}`);
    }
    const owners = await lockOwners(tx, orgId);
    if (current === "owner" && role !== "owner" && owners.length === 1) {
      throw new AppError("last_owner", "An organization needs an owner: make someone else owner first");
    }
    const member = await upsertMember(tx, { orgId, userId: user.id, role });
    return { user_id: user.id, email: user.email, name: user.name, ...member };
  });
}
