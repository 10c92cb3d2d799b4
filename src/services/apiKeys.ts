import type { Kysely } from "kysely";
import { type ApiKeyRow, findLiveApiKeyByHash, insertApiKey } from "../db/apiKeyRepo.js";
import type { Schema } from "../db/schema.js";
import type { KeyScope } from "../domain/access.js";
import { AppError } from "../domain/errors.js";
import { newId } from "../domain/ids.js";
import { sha256Hex } from "../domain/sha256.js";
import { newSecretToken } from "./secretTokens.js";

const KEY_PREFIX = "ml_";

/**
 * Creates a service key. The full key is returned once, here; only its SHA-256 and its first
 * characters (to recognise it in a list) are stored. `orgId: null` makes a platform key.
 */
export async function createApiKey({
  db,
  orgId,
  name,
  scopes,
  createdBy,
  now,
}: {
  db: Kysely<Schema>;
  orgId: string | null;
  name: string;
  scopes: KeyScope[];
  createdBy: string | null;
  now: Date;
}): Promise<{ row: ApiKeyRow; key: string }> {
  if (orgId !== null && scopes.includes("admin")) {
    throw new AppError("invalid_request", "scopes: admin is only for platform keys");
  }
  const key = `${KEY_PREFIX}${newSecretToken()}`;
  const row = await insertApiKey(db, {
    id: newId("key", now.getTime()),
    org_id: orgId,
    name: name.trim(),
    scopes: [...new Set(scopes)].sort(),
    key_hash: sha256Hex(key),
    key_prefix: key.slice(0, KEY_PREFIX.length + 6),
    created_by: createdBy,
  });
  return { row, key };
}

export function findApiKey({ db, key }: { db: Kysely<Schema>; key: string }): Promise<ApiKeyRow | undefined> {
  if (!key.startsWith(KEY_PREFIX)) return Promise.resolve(undefined);
  return findLiveApiKeyByHash(db, sha256Hex(key));
}
