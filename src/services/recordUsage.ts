import type { Kysely } from "kysely";
import { findExistingOrgIds } from "../db/orgRepo.js";
import type { Schema } from "../db/schema.js";
import { inTransaction } from "../db/transaction.js";
import { recordAggregates } from "../db/usageAggregateRepo.js";
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
 * Records a batch of usage events, each accepted or rejected on its own, and folds the accepted
 * ones into the aggregates in the same transaction. An event id is unique
 * per org forever: the same event again is a duplicate (counted once), another event under a
 * used id is rejected. A repeat of a stored event is a duplicate even once it is too old to be
 * accepted anew, so a sender retrying late learns it was kept. Everything accepted is committed
 * before this returns.
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
  const parsed: { index: number; event: UsageEvent }[] = [];
  for (const [index, raw] of events.entries()) {
    const result = parseUsageEvent(raw, index);
    if (result.ok) parsed.push({ index, event: result.event });
    else rejected.push({ index, ...result.rejection });
  }

  const reachable = parsed.filter(({ event }) => keyOrgId === null || event.orgId === keyOrgId);
  const knownOrgs = await findExistingOrgIds(db, [...new Set(reachable.map(({ event }) => event.orgId))]);

  // The first in-time occurrence of a key is offered for insertion; every other occurrence (a
  // repeat in the batch, or an event outside the time window) is compared with what is stored.
  const offered = new Map<string, { index: number; row: UsageEventRow }>();
  const compared: { index: number; key: string; hash: string; ifAbsent: EventRejection | null }[] = [];
  for (const { index, event } of parsed) {
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
    const outOfWindow = checkEventTime({ occurredAt: event.occurredAt, now });
    if (outOfWindow || offered.has(key)) {
      compared.push({ index, key, hash, ifAbsent: outOfWindow });
      continue;
    }
    offered.set(key, {
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

  const { inserted, stored } = await inTransaction(db, async (tx) => {
    const insertedRows = await insertNewUsageEvents(
      tx,
      [...offered.values()].map(({ row }) => row),
    );
    const inserted = new Set(insertedRows.map((row) => JSON.stringify([row.org_id, row.id])));
    await recordAggregates(
      tx,
      [...offered].filter(([key]) => inserted.has(key)).map(([, { row }]) => row),
    );
    const lookups = new Set([
      ...[...offered.keys()].filter((key) => !inserted.has(key)),
      ...compared.map((c) => c.key),
    ]);
    const storedRows = await findPayloadHashes(
      tx,
      [...lookups].map((key) => {
        const [org_id, id] = JSON.parse(key) as [string, string];
        return { org_id, id };
      }),
    );
    return {
      inserted,
      stored: new Map(storedRows.map((row) => [JSON.stringify([row.org_id, row.id]), row.payload_hash])),
    };
  });

  const hashOf = (key: string) => (inserted.has(key) ? offered.get(key)?.row.payload_hash : stored.get(key));
  let accepted = 0;
  let duplicates = 0;
  const compare = (index: number, key: string, hash: string, ifAbsent: EventRejection | null) => {
    const storedHash = hashOf(key);
    if (storedHash === hash) duplicates += 1;
    else if (storedHash === undefined && ifAbsent) rejected.push({ index, ...ifAbsent });
    else if (storedHash === undefined) throw new Error(`usage event ${key} neither inserted nor found`);
    else
      rejected.push({
        index,
        code: "id_conflict",
        message: "this event id was already used for a different event",
      });
  };
  for (const [key, { index, row }] of offered) {
    if (inserted.has(key)) accepted += 1;
    else compare(index, key, row.payload_hash, null);
  }
  for (const { index, key, hash, ifAbsent } of compared) compare(index, key, hash, ifAbsent);
  rejected.sort((a, b) => a.index - b.index);
  return { accepted, duplicates, rejected };
}
