import type { UsageEventRow } from "../src/db/usageEventRepo.js";
import { sha256Hex } from "../src/domain/sha256.js";
import { canonicalEvent, parseUsageEvent } from "../src/domain/usageEvents.js";

/** An event as a sender posts it to /v1/usage/events. */
export interface WireEvent {
  id: string;
  org_id: string;
  app_id: string;
  metric: "mau" | "bandwidth" | "storage" | "build_minutes";
  timestamp: string;
  device_id?: string;
  value?: number;
}

export const BATCH_SIZE = 1000;

/** Returning devices shared by every batch: most MAU events name a new device, some a known one. */
const RETURNING_DEVICES = 5000;
const RETURNING_SHARE = 0.2;
const APPS_PER_ORG = 3;
/** Events claim to have happened within this long before the batch was built. */
const SPREAD_MS = 30 * 60_000;

/**
 * One batch of the realistic mix: of every 20 events, 10 mau, 8 bandwidth, 1 storage and 1
 * build_minutes (50/40/5/5 %), spread over `orgIds` and a few apps each. Ids carry `runId`, so
 * every run (and its warm-up) sends events never seen before. Seeded by the batch number, so a
 * batch is the same every time it is built.
 */
export function buildBatch({
  runId,
  batch,
  orgIds,
  now,
}: {
  runId: string;
  batch: number;
  orgIds: readonly string[];
  now: number;
}): WireEvent[] {
  const random = seededRandom(batch + 1);
  const pick = (n: number) => Math.floor(random() * n);
  return Array.from({ length: BATCH_SIZE }, (_, i) => {
    const orgId = orgIds[pick(orgIds.length)] as string;
    const common = {
      id: `${runId}-${batch}-${i}`,
      org_id: orgId,
      app_id: `app-${pick(APPS_PER_ORG)}`,
      timestamp: new Date(now - pick(SPREAD_MS)).toISOString(),
    };
    const slot = i % 20;
    if (slot < 10) {
      const returning = random() < RETURNING_SHARE;
      const device = returning ? `device-${pick(RETURNING_DEVICES)}` : `device-${runId}-${batch}-${i}`;
      return { ...common, metric: "mau", device_id: device };
    }
    if (slot < 18) return { ...common, metric: "bandwidth", value: 1_000 + pick(10_000_000) };
    if (slot === 18) return { ...common, metric: "storage", value: 1_000_000_000 + pick(4_000_000_000) };
    return { ...common, metric: "build_minutes", value: 30 + pick(1_800) };
  });
}

/**
 * The rows the service would store for these events, payload hash included, for the raw-insert
 * baseline: the same columns and values, without the service's checks and aggregates.
 */
export function toRows(events: readonly WireEvent[]): UsageEventRow[] {
  return events.map((wire, index) => {
    const parsed = parseUsageEvent(wire, index);
    if (!parsed.ok) throw new Error(`workload event ${index} is invalid: ${parsed.rejection.message}`);
    const event = parsed.event;
    return {
      org_id: event.orgId,
      id: event.id,
      app_id: event.appId,
      metric: event.metric,
      occurred_at: event.occurredAt,
      device_id: event.deviceId,
      value: event.value,
      payload_hash: sha256Hex(canonicalEvent(event)),
    };
  });
}

/** mulberry32: small, fast, and good enough to spread a workload. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
