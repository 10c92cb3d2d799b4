import { type Kysely, sql } from "kysely";
import { KEY_REVOKED_CHANNEL } from "./notifications.js";
import type { ApiKeysTable, Schema } from "./schema.js";
import { inTransaction } from "./transaction.js";

export type ApiKeyRow = Pick<
  ApiKeysTable,
  "id" | "org_id" | "name" | "scopes" | "key_prefix" | "created_by" | "revoked_at"
> & { created_at: Date };

const keyColumns = [
  "id",
  "org_id",
  "name",
  "scopes",
  "key_prefix",
  "created_by",
  "created_at",
  "revoked_at",
] as const;

export async function insertApiKey(
  db: Kysely<Schema>,
  key: Pick<ApiKeysTable, "id" | "org_id" | "name" | "scopes" | "key_hash" | "key_prefix" | "created_by"> & {
    created_at: Date;
  },
): Promise<ApiKeyRow> {
  return db.insertInto("api_keys").values(key).returning(keyColumns).executeTakeFirstOrThrow();
}

export async function countLiveApiKeys(db: Kysely<Schema>, orgId: string): Promise<number> {
  const row = await db
    .selectFrom("api_keys")
    .select((eb) => eb.fn.countAll<bigint>().as("count"))
    .where("org_id", "=", orgId)
    .where("revoked_at", "is", null)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

export async function findLiveApiKeyByHash(
  db: Kysely<Schema>,
  keyHash: string,
): Promise<ApiKeyRow | undefined> {
  return db
    .selectFrom("api_keys")
    .select(keyColumns)
    .where("key_hash", "=", keyHash)
    .where("revoked_at", "is", null)
    .executeTakeFirst();
}

export async function listApiKeys(db: Kysely<Schema>, orgId: string): Promise<ApiKeyRow[]> {
  return db
    .selectFrom("api_keys")
    .select(keyColumns)
    .where("org_id", "=", orgId)
    .orderBy("created_at")
    .orderBy("id")
    .execute();
}

export async function revokeApiKey(
  db: Kysely<Schema>,
  { orgId, id, now }: { orgId: string; id: string; now: Date },
): Promise<ApiKeyRow | undefined> {
  return inTransaction(db, async (tx) => {
    const row = await tx
      .updateTable("api_keys")
      .set((eb) => ({ revoked_at: eb.fn.coalesce("revoked_at", eb.val(now)) }))
      .where("org_id", "=", orgId)
      .where("id", "=", id)
      .returning(keyColumns)
      .executeTakeFirst();
    if (row) await sql`SELECT pg_notify(${KEY_REVOKED_CHANNEL}, ${row.id})`.execute(tx);
    return row;
  });
}
