import type { Kysely } from "kysely";
import type { Schema, UsersTable } from "./schema.js";

export type UserRow = Pick<UsersTable, "id" | "email" | "name" | "password_hash">;

export async function insertUser(db: Kysely<Schema>, user: UserRow): Promise<void> {
  await db.insertInto("users").values(user).execute();
}

export async function findUserByEmail(db: Kysely<Schema>, email: string): Promise<UserRow | undefined> {
  return db
    .selectFrom("users")
    .select(["id", "email", "name", "password_hash"])
    .where("email", "=", email)
    .executeTakeFirst();
}

export async function findPasswordHash(db: Kysely<Schema>, id: string): Promise<string | undefined> {
  const row = await db.selectFrom("users").select("password_hash").where("id", "=", id).executeTakeFirst();
  return row?.password_hash;
}

export async function updatePasswordHash(
  db: Kysely<Schema>,
  { id, passwordHash }: { id: string; passwordHash: string },
): Promise<void> {
  await db.updateTable("users").set({ password_hash: passwordHash }).where("id", "=", id).execute();
}

export async function findUserById(
  db: Kysely<Schema>,
  id: string,
): Promise<Pick<UserRow, "id" | "email" | "name"> | undefined> {
  return db.selectFrom("users").select(["id", "email", "name"]).where("id", "=", id).executeTakeFirst();
}

export async function countUsers(db: Kysely<Schema>): Promise<bigint> {
  const row = await db
    .selectFrom("users")
    .select((eb) => eb.fn.countAll<bigint>().as("count"))
    .executeTakeFirstOrThrow();
  return BigInt(row.count);
}

/**
 * Locks the person's row for the rest of the transaction: what they create under a daily limit
 * (organizations) is counted and written by one request at a time.
 */
export async function lockUser(db: Kysely<Schema>, id: string): Promise<void> {
  // NO KEY UPDATE: rows that reference the person (memberships, sessions) can still be written.
  await db.selectFrom("users").select("id").where("id", "=", id).forNoKeyUpdate().execute();
}
