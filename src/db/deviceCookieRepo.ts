import type { Kysely } from "kysely";
import type { Schema } from "./schema.js";

export async function insertDeviceCookie(
  db: Kysely<Schema>,
  cookie: { id: string; userId: string; expiresAt: Date },
): Promise<void> {
  await db
    .insertInto("device_cookies")
    .values({ id: cookie.id, user_id: cookie.userId, expires_at: cookie.expiresAt })
    .execute();
}

/** The account a live device cookie was given for, by its email. */
export async function findDeviceCookieEmail(
  db: Kysely<Schema>,
  { id, now }: { id: string; now: Date },
): Promise<string | undefined> {
  const row = await db
    .selectFrom("device_cookies")
    .innerJoin("users", "users.id", "device_cookies.user_id")
    .select("users.email")
    .where("device_cookies.id", "=", id)
    .where("device_cookies.expires_at", ">", now)
    .executeTakeFirst();
  return row?.email;
}

/** Drops the user's expired device cookies and all but the newest `keep` of the others. */
export async function pruneDeviceCookies(
  db: Kysely<Schema>,
  { userId, now, keep }: { userId: string; now: Date; keep: number },
): Promise<void> {
  const newest = db
    .selectFrom("device_cookies")
    .select("id")
    .where("user_id", "=", userId)
    .orderBy("created_at", "desc")
    .orderBy("id")
    .limit(keep);
  await db
    .deleteFrom("device_cookies")
    .where("user_id", "=", userId)
    .where((eb) => eb.or([eb("expires_at", "<=", now), eb("id", "not in", newest)]))
    .execute();
}

/** Forgets every browser remembered for the user: none of them is trusted to sign in any more. */
export async function deleteDeviceCookiesOfUser(db: Kysely<Schema>, userId: string): Promise<void> {
  await db.deleteFrom("device_cookies").where("user_id", "=", userId).execute();
}
