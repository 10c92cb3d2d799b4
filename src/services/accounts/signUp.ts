import type { Kysely } from "kysely";
import { isUniqueViolation } from "../../db/pgErrors.js";
import type { Schema } from "../../db/schema.js";
import { inTransaction } from "../../db/transaction.js";
import { findUserByEmail, insertUser } from "../../db/userRepo.js";
import { AppError } from "../../domain/errors.js";
import { newId } from "../../domain/ids.js";
import { hashPassword, unknownUserHash, verifyPassword } from "./hashPassword.js";
import { type StartedSession, startSession } from "./sessions.js";

export interface SignedIn {
  user: { id: string; email: string; name: string };
  session: StartedSession;
}

export async function signUp({
  db,
  email,
  password,
  name,
  now,
}: {
  db: Kysely<Schema>;
  email: string;
  password: string;
  name: string;
  now: Date;
}): Promise<SignedIn> {
  const normalizedEmail = email.trim().toLowerCase();
  const passwordHash = await hashPassword(password);
  const user = { id: newId("usr", now.getTime()), email: normalizedEmail, name: name.trim() };
  return inTransaction(db, async (tx) => {
    if (await findUserByEmail(tx, normalizedEmail)) {
      throw new AppError("email_taken", "An account with this email already exists; sign in instead");
    }
    try {
      await insertUser(tx, { ...user, password_hash: passwordHash });
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new AppError("email_taken", "An account with this email already exists; sign in instead");
      }
      throw error;
    }
    return { user, session: await startSession({ db: tx, userId: user.id, now }) };
  });
}

export async function logIn({
  db,
  email,
  password,
  now,
}: {
  db: Kysely<Schema>;
  email: string;
  password: string;
  now: Date;
}): Promise<SignedIn> {
  const user = await findUserByEmail(db, email.trim().toLowerCase());
  const matches = await verifyPassword(password, user?.password_hash ?? (await unknownUserHash()));
  if (!user || !matches) throw new AppError("invalid_credentials", "Email or password is incorrect");
  const session = await startSession({ db, userId: user.id, now });
  return { user: { id: user.id, email: user.email, name: user.name }, session };
}
