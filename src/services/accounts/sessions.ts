import type { Kysely } from "kysely";
import { deleteDeviceCookiesOfUser } from "../../db/deviceCookieRepo.js";
import type { Schema } from "../../db/schema.js";
import {
  deleteSession,
  deleteSessionsOfUser,
  findLiveSession,
  insertSession,
  type SessionUser,
} from "../../db/sessionRepo.js";
import { inTransaction } from "../../db/transaction.js";
import { sha256Hex } from "../../domain/sha256.js";
import { newSecretToken } from "./secretTokens.js";

export const SESSION_DAYS = 30;

export interface StartedSession {
  /** The cookie's value; only its hash is stored. */
  token: string;
  csrfToken: string;
  expiresAt: Date;
}

export async function startSession({
  db,
  userId,
  now,
}: {
  db: Kysely<Schema>;
  userId: string;
  now: Date;
}): Promise<StartedSession> {
  const token = newSecretToken();
  const csrfToken = newSecretToken();
  const expiresAt = new Date(now.getTime() + SESSION_DAYS * 86_400_000);
  await insertSession(db, { id: sha256Hex(token), userId, csrfToken, expiresAt });
  return { token, csrfToken, expiresAt };
}

export function findSession({
  db,
  token,
  now,
}: {
  db: Kysely<Schema>;
  token: string;
  now: Date;
}): Promise<SessionUser | undefined> {
  return findLiveSession(db, { id: sha256Hex(token), now });
}

export async function endSession({
  db,
  sessionId,
}: {
  db: Kysely<Schema>;
  sessionId: string;
}): Promise<void> {
  await deleteSession(db, sessionId);
}

/** Signs the user out everywhere: every browser, this one included. */
/** Signs the user out everywhere: every session ends, and no browser stays remembered for sign-in. */
export async function endAllSessions({ db, userId }: { db: Kysely<Schema>; userId: string }): Promise<void> {
  await inTransaction(db, async (tx) => {
    await deleteSessionsOfUser(tx, { userId });
    await deleteDeviceCookiesOfUser(tx, userId);
  });
}
