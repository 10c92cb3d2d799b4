import type { Kysely } from "kysely";
import type { Schema } from "./schema.js";

export interface SessionUser {
  sessionId: string;
  csrfToken: string;
  userId: string;
  email: string;
  name: string;
}

export async function insertSession(
  db: Kysely<Schema>,
  session: { id: string; userId: string; csrfToken: string; expiresAt: Date },
): Promise<void> {
  await db
    .insertInto("sessions")
    .values({
      id: session.id,
      user_id: session.userId,
      csrf_token: session.csrfToken,
      expires_at: session.expiresAt,
    })
    .execute();
}

export async function findLiveSession(
  db: Kysely<Schema>,
  { id, now }: { id: string; now: Date },
): Promise<SessionUser | undefined> {
  return db
    .selectFrom("sessions")
    .innerJoin("users", "users.id", "sessions.user_id")
    .select([
      "sessions.id as sessionId",
      "sessions.csrf_token as csrfToken",
      "users.id as userId",
      "users.email as email",
      "users.name as name",
    ])
    .where("sessions.id", "=", id)
    .where("sessions.expires_at", ">", now)
    .executeTakeFirst();
}

export async function deleteSession(db: Kysely<Schema>, id: string): Promise<void> {
  await db.deleteFrom("sessions").where("id", "=", id).execute();
}

/** Ends every session of the user, or every one but `except`. */
export async function deleteSessionsOfUser(
  db: Kysely<Schema>,
  { userId, except }: { userId: string; except?: string },
): Promise<void> {
  let query = db.deleteFrom("sessions").where("user_id", "=", userId);
  if (except !== undefined) query = query.where("id", "!=", except);
  await query.execute();
}
