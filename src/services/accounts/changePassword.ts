import type { Kysely } from "kysely";
import { deleteDeviceCookiesOfUser } from "../../db/deviceCookieRepo.js";
import type { Schema } from "../../db/schema.js";
import { deleteSessionsOfUser } from "../../db/sessionRepo.js";
import { inTransaction } from "../../db/transaction.js";
import { findPasswordHash, updatePasswordHash } from "../../db/userRepo.js";
import { AppError } from "../../domain/errors.js";
import { hashPassword, verifyPassword } from "./hashPassword.js";

/**
 * Replaces the user's password once the current one is given, and ends every other session of
 * the user: whoever else held one (perhaps why the password changes) must sign in with the new
 * password. The session asking keeps going. The browsers remembered for the account are
 * forgotten too: one that signed in with the old password earns nothing with the new one.
 */
export async function changePassword({
  db,
  userId,
  sessionId,
  currentPassword,
  newPassword,
}: {
  db: Kysely<Schema>;
  userId: string;
  sessionId: string;
  currentPassword: string;
  newPassword: string;
}): Promise<void> {
  const stored = await findPasswordHash(db, userId);
  if (stored === undefined || !(await verifyPassword(currentPassword, stored))) {
    throw new AppError("invalid_credentials", "The current password is incorrect");
  }
  const passwordHash = await hashPassword(newPassword);
  await inTransaction(db, async (tx) => {
    await updatePasswordHash(tx, { id: userId, passwordHash });
    await deleteSessionsOfUser(tx, { userId, except: sessionId });
    await deleteDeviceCookiesOfUser(tx, userId);
  });
}
