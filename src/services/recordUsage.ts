import type { Kysely } from "kysely";
import { findExistingOrgIds } from "../db/orgRepo.js";
import type { Schema } from "../db/schema.js";
import { findPayloadHashes, insertNewUsageEvents, type UsageEventRow } from "../db/usageEventRepo.js";
import { sha256Hex } from "../domain/sha256.js";
import {
  canonicalEvent,
  checkEventTime,
  type EventRejection,
  parseUsageEvent,
  type UsageEvent,
} from "../domain/usageEvents.js";

export const MAX_BATCH = 1000;

export type RejectionCode = EventRejection["code"] | "unknown_org" | "id_conflict";

export interface RecordUsageResult {
  accepted: number;
  duplicates: number;
  rejected: { index: number; code: RejectionCode; message: string }[];
}

/**
 * Records a batch of usage events, each accepted or rejected on its own. An event id is unique
 * per org forever: the same event again is a duplicate (counted once), another event under a
 * used id is rejected. Everything accepted is committed before this returns.
 *
 * `keyOrgId` is the org an org-bound key belongs to (null for a platform key); an event for any
 * other org is refused with the same answer as an org that does not exist.
 */
export async function recordUsage({
  db,
  keyOrgId,
  events,
  now,
}: {
  db: Kysely<Schema>;
  keyOrgId: string | null;
  events: unknown[];
  now: Date;
}): Promise<RecordUsageResult> {
  const rejected: RecordUsageResult["rejected"] = [];
  const valid: { index: number; event: UsageEvent }[] = [];
  for (const [index, raw] of events.entries()) {
    const parsed = parseUsageEvent(raw, index);
    if (!parsed.ok) {
      rejected.push({ index, ...parsed.rejection });
      continue;
    }
    const late = checkEventTime({ occurredAt: parsed.event.occurredAt, now });
    if (late) {
      rejected.push({ index, ...late });
      continue;
    }
    valid.push({ index, event: parsed.event });
  }

  const knownOrgs = await findExistingOrgIds(db, [
    ...new Set(
      valid
        .filter(({ event }) => keyOrgId === null || event.orgId === keyOrgId)
        .map(({ event }) => event.orgId),
    ),
  ]);

  // The first occurrence of a key in the batch is the one offered for insertion; later ones are
  // compared with it exactly as with an event stored by an earlier batch.
  const firstOfKey = new Map<string, { index: number; row: UsageEventRow }>();
  const repeats: { index: number; key: string; hash: string }[] = [];
  for (const { index, event } of valid) {
    if (!knownOrgs.has(event.orgId)) {
      rejected.push({
        index,
        code: "unknown_org",
        message: `organization ${event.orgId} not found for this API key`,
      });
      continue;
    }
    const key = JSON.stringify([event.orgId, event.id]);
    const hash = sha256Hex(canonicalEvent(event));
    if (firstOfKey.has(key)) {
      repeats.push({ index, key, hash });
      continue;
    }
    firstOfKey.set(key, {
      index,
      row: {
        org_id: event.orgId,
        id: event.id,
        app_id: event.appId,
        metric: event.metric,
        occurred_at: event.occurredAt,
        device_id: event.deviceId,
        value: event.value,
        payload_hash: hash,
      },
    });
  }

  const offered = [...firstOfKey.values()];
  const { inserted, storedHashes } = await db.transaction().execute(async (tx) => {
    const inserted = await insertNewUsageEvents(
      tx,
      offered.map(({ row }) => row),
    );
    const insertedKeys = new Set(inserted.map((row) => JSON.stringify([row.org_id, row.id])));
    const existing = offered.filter(({ row }) => !insertedKeys.has(JSON.stringify([row.org_id, row.id])));
    const stored = await findPayloadHashes(
      tx,
      existing.map(({ row }) => ({ org_id: row.org_id, id: row.id })),
    );
    return {
      inserted: insertedKeys,
      storedHashes: new Map(stored.map((row) => [JSON.stringify([row.org_id, row.id]), row.payload_hash])),
    };
  });

  const storedHashOf = (key: string): string => {
    const hash = inserted.has(key) ? firstOfKey.get(key)?.row.payload_hash : storedHashes.get(key);
    if (hash === undefined) throw new Error(`usage event ${key} neither inserted nor found`);
    return hash;
  };
  let accepted = 0;
  let duplicates = 0;
  const compare = (index: number, key: string, hash: string) => {
    if (storedHashOf(key) === hash) duplicates += 1;
    else
      rejected.push({
        index,
        code: "id_conflict",
        message: "this event id was already used for a different event",
      });
  };
  for (const [key, { index, row }] of firstOfKey) {
    if (inserted.has(key)) accepted += 1;
    else compare(index, key, row.payload_hash);
  }
  for (const { index, key, hash } of repeats) compare(index, key, hash);
  rejected.sort((a, b) => a.index - b.index);
  return { accepted, duplicates, rejected };
}
