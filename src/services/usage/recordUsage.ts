import type { Kysely } from "kysely";
import type { Schema } from "../../db/schema.js";
import { findPayloadHashes, insertUsageEvents, type UsageEventRow } from "../../db/usageEventRepo.js";
import { sha256Hex } from "../../domain/sha256.js";
import {
  canonicalEvent,
  type EventRejection,
  parseUsageEvent,
  tooNew,
  tooOld,
  tooOldForAnyCycle,
  type UsageEvent,
} from "../../domain/usageEvents.js";

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

  // The first in-time occurrence of a key is offered for insertion; every other occurrence (a
  // repeat in the batch, or an event outside the time window) is compared with what is stored.
  const offered = new Map<string, { index: number; row: UsageEventRow }>();
  const compared: {
    index: number;
    key: string;
    hash: string;
    occurredAt: Date;
    early: EventRejection | null;
  }[] = [];
  const orgOf = new Map<string, { org_id: string; id: string }>();
  for (const { index, event } of parsed) {
    if (keyOrgId !== null && event.orgId !== keyOrgId) {
      rejected.push(unknownOrg(index, event.orgId));
      continue;
    }
    const key = `${event.orgId}\n${event.id}`;
    orgOf.set(key, { org_id: event.orgId, id: event.id });
    const hash = sha256Hex(canonicalEvent(event));
    // Too old is judged by the organization's own cycles, once its row is read.
    const early = tooNew({ occurredAt: event.occurredAt, now });
    if (early || offered.has(key)) {
      compared.push({ index, key, hash, occurredAt: event.occurredAt, early });
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

  // One statement stores the new events and their aggregates, committed (durable) on return.
  const orgIds = [...new Set([...orgOf.values()].map((key) => key.org_id))];
  const stored = await insertUsageEvents(db, {
    // What no organization's cycles could accept is not even offered: the database cannot store
    // some of the instants a timestamp can name (the year 0000), and would fail the whole batch.
    rows: [...offered.values()]
      .map(({ row }) => row)
      .filter((row) => !tooOldForAnyCycle({ occurredAt: row.occurred_at, now })),
    orgIds,
    now,
  });
  const inserted = new Set(stored.inserted.map((key) => `${key.org_id}\n${key.id}`));
  const scheduleOf = (key: string) => stored.schedules.get(orgOf.get(key)?.org_id ?? "");
  const known = (key: string) => scheduleOf(key) !== undefined;
  const lookups = [
    ...[...offered.keys()].filter((key) => known(key) && !inserted.has(key)),
    ...compared.map((c) => c.key).filter(known),
  ];
  const hashes = await findPayloadHashes(
    db,
    [...new Set(lookups)].map((key) => orgOf.get(key) ?? { org_id: "", id: "" }),
  );
  const storedHashes = new Map(hashes.map((row) => [`${row.org_id}\n${row.id}`, row.payload_hash]));

  const hashOf = (key: string) =>
    inserted.has(key) ? offered.get(key)?.row.payload_hash : storedHashes.get(key);
  // An event's own verdict when its id is stored nowhere: too new, or too old for its org's cycle.
  const verdictOf = (key: string, occurredAt: Date, early: EventRejection | null) => {
    const schedule = scheduleOf(key);
    return early ?? (schedule ? tooOld({ occurredAt, now, schedule }) : null);
  };
  let accepted = 0;
  let duplicates = 0;
  const compare = (index: number, key: string, hash: string, verdict: EventRejection | null) => {
    const storedHash = hashOf(key);
    if (storedHash === hash) duplicates += 1;
    else if (storedHash === undefined && verdict) rejected.push({ index, ...verdict });
    else if (storedHash === undefined && offered.get(key)?.row.payload_hash !== hash) {
      // Its id came earlier in this batch with other contents, and that one was refused.
      rejected.push({
        index,
        code: "id_conflict",
        message: "this event id is used twice in the batch for different events",
      });
    } else if (storedHash === undefined) {
      throw new Error(`usage event ${key} in its window was neither inserted nor found`);
    } else {
      rejected.push({
        index,
        code: "id_conflict",
        message: "this event id was already used for a different event",
      });
    }
  };
  for (const [key, { index, row }] of offered) {
    if (!known(key)) rejected.push(unknownOrg(index, row.org_id));
    else if (inserted.has(key)) accepted += 1;
    else compare(index, key, row.payload_hash, verdictOf(key, row.occurred_at, null));
  }
  for (const { index, key, hash, occurredAt, early } of compared) {
    if (!known(key)) rejected.push(unknownOrg(index, orgOf.get(key)?.org_id ?? ""));
    else compare(index, key, hash, verdictOf(key, occurredAt, early));
  }
  rejected.sort((a, b) => a.index - b.index);
  return { accepted, duplicates, rejected };
}

function unknownOrg(index: number, orgId: string): RecordUsageResult["rejected"][number] {
  return { index, code: "unknown_org", message: `organization ${orgId} not found for this API key` };
}
