import type { Kysely } from "kysely";
import { type ApiKeyRow, countLiveApiKeys, findLiveApiKeyByHash, insertApiKey } from "../../db/apiKeyRepo.js";
import type { Db } from "../../db/client.js";
import { KEY_REVOKED_CHANNEL } from "../../db/notifications.js";
import { lockOrg } from "../../db/orgRepo.js";
import type { Schema } from "../../db/schema.js";
import { inTransaction } from "../../db/transaction.js";
import type { KeyScope } from "../../domain/access.js";
import { MAX_LIVE_API_KEYS } from "../../domain/actionLimits.js";
import { AppError } from "../../domain/errors.js";
import { newId } from "../../domain/ids.js";
import { sha256Hex } from "../../domain/sha256.js";
import { enforceActionLimit } from "./enforceActionLimit.js";
import { newSecretToken } from "./secretTokens.js";

const KEY_PREFIX = "ml_";

/**
 * Creates a service key. The full key is returned once, here; only its SHA-256 and its first
 * characters (to recognise it in a list) are stored. `orgId: null` makes a platform key.
 *
 * An organization holds at most MAX_LIVE_API_KEYS unrevoked keys. `limited` (the API's requests)
 * also counts the keys it created in the day against `actionLimits.apiKeysPerOrg`. Both are
 * counted under the organization's lock, so they hold across processes.
 */
export async function createApiKey({
  db,
  orgId,
  name,
  scopes,
  createdBy,
  limited = false,
  now,
}: {
  db: Kysely<Schema>;
  orgId: string | null;
  name: string;
  scopes: KeyScope[];
  createdBy: string | null;
  /** Whether the daily limit on new keys applies: to requests, not to operators. */
  limited?: boolean;
  now: Date;
}): Promise<{ row: ApiKeyRow; key: string }> {
  if (orgId !== null && scopes.includes("admin")) {
    throw new AppError("invalid_request", "scopes: admin is only for platform keys");
  }
  const key = `${KEY_PREFIX}${newSecretToken()}`;
  return inTransaction(db, async (tx) => {
    if (orgId !== null) await assertRoomForKey({ tx, orgId, limited, now });
    const row = await insertApiKey(tx, {
      id: newId("key", now.getTime()),
      org_id: orgId,
      name: name.trim(),
      scopes: [...new Set(scopes)].sort(),
      key_hash: sha256Hex(key),
      key_prefix: key.slice(0, KEY_PREFIX.length + 6),
      created_by: createdBy,
      created_at: now,
    });
    return { row, key };
  });
}

async function assertRoomForKey({
  tx,
  orgId,
  limited,
  now,
}: {
  tx: Kysely<Schema>;
  orgId: string;
  limited: boolean;
  now: Date;
}): Promise<void> {
  await lockOrg(tx, orgId);
  if (limited) {
    await enforceActionLimit({ tx, action: "apiKeysPerOrg", actor: orgId, now });
  }
  if ((await countLiveApiKeys(tx, orgId)) >= MAX_LIVE_API_KEYS) {
    throw new AppError(
      "limit_reached",
      `This organization has ${MAX_LIVE_API_KEYS} live API keys, the most it may hold: revoke one it no longer uses (DELETE /v1/orgs/${orgId}/api-keys/{key}) before creating another`,
    );
  }
}

export function findApiKey({ db, key }: { db: Kysely<Schema>; key: string }): Promise<ApiKeyRow | undefined> {
  if (!key.startsWith(KEY_PREFIX)) return Promise.resolve(undefined);
  return findLiveApiKeyByHash(db, sha256Hex(key));
}

/**
 * Service keys answered from memory: every API call of a service carries its key, and most of
 * them are entitlement checks that must not wait for the database. A revocation empties the
 * cache of every process (NOTIFY); entries also lapse after `ttlMs`, a bound even if a
 * notification were lost. Unknown keys are not remembered.
 */
export class ApiKeyCache {
  readonly #entries = new Map<string, { row: ApiKeyRow; until: number }>();
  readonly #db: Kysely<Schema>;
  readonly #ttlMs: number;
  #generation = 0;

  constructor({ db, ttlMs = 10_000 }: { db: Kysely<Schema>; ttlMs?: number }) {
    this.#db = db;
    this.#ttlMs = ttlMs;
  }

  async find(key: string, nowMs: number): Promise<ApiKeyRow | undefined> {
    if (!key.startsWith(KEY_PREFIX)) return undefined;
    const hash = sha256Hex(key);
    const cached = this.#entries.get(hash);
    if (cached && nowMs < cached.until) return cached.row;
    const generation = this.#generation;
    const row = await findLiveApiKeyByHash(this.#db, hash);
    // A revocation announced while this read was under way may postdate what it read.
    if (row && generation === this.#generation) this.#entries.set(hash, { row, until: nowMs + this.#ttlMs });
    else this.#entries.delete(hash);
    return row;
  }

  forgetAll(): void {
    this.#generation += 1;
    this.#entries.clear();
  }
}

/** The cache, emptied whenever any process revokes a key. `stop` ends the listening. */
export async function startApiKeyCache({
  db,
}: {
  db: Db;
}): Promise<{ cache: ApiKeyCache; stop: () => Promise<void> }> {
  const cache = new ApiKeyCache({ db: db.kysely });
  const forget = () => cache.forgetAll();
  const stop = await db.listen(KEY_REVOKED_CHANNEL, forget, forget);
  return { cache, stop };
}
