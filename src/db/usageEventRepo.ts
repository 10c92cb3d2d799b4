import { type Kysely, sql } from "kysely";
import type { CycleSchedule } from "../domain/cycles.js";
import { ORG_CHANGED_CHANNEL } from "./notifications.js";
import { cycleScheduleOf } from "./orgRepo.js";
import type { Schema, UsageEventsTable } from "./schema.js";

export type UsageEventRow = Omit<UsageEventsTable, "received_at">;

/**
 * Stores a batch in one statement, one round trip: the rows of existing organizations whose
 * (org_id, id) is new are inserted and folded into the aggregates — sums per UTC day, each
 * device once per billing cycle (by the organization's cycle schedule, read under a key-share
 * lock that a change of schedule waits for), the latest storage reading per app — and every process is
 * told (NOTIFY) once it commits. Rows go in key order, so concurrent batches sharing ids or days
 * take their locks in one order and cannot deadlock.
 *
 * Rows from before the organization's accepted window (SPEC §3, by its own cycles) are not
 * inserted. Answers the keys inserted and the cycle schedule of each of `orgIds` that exists.
 */
export async function insertUsageEvents(
  db: Kysely<Schema>,
  { rows, orgIds, now }: { rows: UsageEventRow[]; orgIds: string[]; now: Date },
): Promise<{ inserted: { org_id: string; id: string }[]; schedules: Map<string, CycleSchedule> }> {
  if (orgIds.length === 0) return { inserted: [], schedules: new Map() };
  const column = <T>(pick: (row: UsageEventRow) => T) => rows.map(pick);
  const result = await sql<{
    kind: "inserted" | "org" | "told";
    org_id: string;
    id: string | null;
    anchor_day: number | null;
    bridge_start: string | null;
    bridge_end: string | null;
    before_bridge: string | null;
  }>`
    WITH input AS (
      SELECT * FROM unnest(
        ${column((row) => row.org_id)}::text[],
        ${column((row) => row.id)}::text[],
        ${column((row) => row.app_id)}::text[],
        ${column((row) => row.metric)}::text[],
        ${column((row) => row.occurred_at.toISOString())}::timestamptz[],
        ${column((row) => row.device_id)}::text[],
        ${column((row) => (row.value === null ? null : row.value.toString()))}::bigint[],
        ${column((row) => row.payload_hash)}::text[]
      ) AS event (org_id, id, app_id, metric, occurred_at, device_id, value, payload_hash)
    ),
    orgs_known AS (
      SELECT id AS org_id, cycle_anchor_day, cycle_bridge_start, cycle_bridge_end, cycle_before_bridge,
        -- SPEC §3: nothing from before this cycle's start (the previous one's end) minus 48 hours
        meterline_org_cycle_start(${now.toISOString()}::timestamptz, cycle_anchor_day, cycle_bridge_start,
          cycle_bridge_end, cycle_before_bridge)::timestamp AT TIME ZONE 'UTC' - interval '48 hours' AS earliest
      FROM orgs WHERE id = ANY (${orgIds}::text[]) ORDER BY id FOR KEY SHARE
    ),
    inserted AS (
      INSERT INTO usage_events (org_id, id, app_id, metric, occurred_at, device_id, value, payload_hash)
      SELECT input.* FROM input JOIN orgs_known o USING (org_id)
      WHERE input.occurred_at >= o.earliest
      ORDER BY org_id, id
      ON CONFLICT (org_id, id) DO NOTHING
      RETURNING org_id, id, app_id, metric, occurred_at, device_id, value
    ),
    daily AS (
      INSERT INTO usage_daily AS d (org_id, metric, day, quantity)
      SELECT org_id, metric, (occurred_at AT TIME ZONE 'UTC')::date, sum(value)
      FROM inserted WHERE metric IN ('bandwidth', 'build_minutes')
      GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
      ON CONFLICT (org_id, metric, day) DO UPDATE SET quantity = d.quantity + excluded.quantity
    ),
    mau AS (
      SELECT org_id, device_id, (occurred_at AT TIME ZONE 'UTC')::date AS day FROM inserted WHERE metric = 'mau'
    ),
    -- A cycle starts at a day's beginning, so the cycle of each (organization, day) is computed
    -- once, not once per event.
    mau_cycles AS (
      SELECT d.org_id, d.day, meterline_org_cycle_start(d.day::timestamp AT TIME ZONE 'UTC', o.cycle_anchor_day,
        o.cycle_bridge_start, o.cycle_bridge_end, o.cycle_before_bridge) AS cycle_start
      FROM (SELECT DISTINCT org_id, day FROM mau) AS d JOIN orgs_known o USING (org_id)
    ),
    devices AS (
      INSERT INTO mau_devices AS m (org_id, cycle_start, device_id, first_seen)
      SELECT mau.org_id, c.cycle_start, mau.device_id, min(mau.day)
      FROM mau JOIN mau_cycles c USING (org_id, day)
      GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
      ON CONFLICT (org_id, cycle_start, device_id) DO UPDATE SET first_seen = excluded.first_seen
        WHERE excluded.first_seen < m.first_seen
      -- xmax is 0 on a row this statement inserted, not on one it updated
      RETURNING m.org_id, m.cycle_start, (m.xmax = 0) AS is_new
    ),
    counted AS (
      INSERT INTO mau_counts AS c (org_id, cycle_start, devices)
      SELECT org_id, cycle_start, count(*) FROM devices WHERE is_new
      GROUP BY 1, 2 ORDER BY 1, 2
      ON CONFLICT (org_id, cycle_start) DO UPDATE SET devices = c.devices + excluded.devices
    ),
    gauges AS (
      INSERT INTO storage_gauges AS g (org_id, app_id, bytes, measured_at)
      SELECT DISTINCT ON (org_id, app_id) org_id, app_id, value, occurred_at
      FROM inserted WHERE metric = 'storage' ORDER BY org_id, app_id, occurred_at DESC
      ON CONFLICT (org_id, app_id) DO UPDATE SET bytes = excluded.bytes, measured_at = excluded.measured_at
        WHERE excluded.measured_at > g.measured_at
    )
    SELECT 'inserted' AS kind, org_id, id, NULL::integer AS anchor_day,
      NULL::date AS bridge_start, NULL::date AS bridge_end, NULL::date AS before_bridge FROM inserted
    UNION ALL
    SELECT 'org', org_id, NULL, cycle_anchor_day, cycle_bridge_start, cycle_bridge_end, cycle_before_bridge
    FROM orgs_known
    UNION ALL
    SELECT 'told', changed.org_id, NULL, NULL, NULL, NULL, NULL FROM (SELECT DISTINCT org_id FROM inserted) AS changed
      CROSS JOIN LATERAL (SELECT pg_notify(${ORG_CHANGED_CHANNEL}, changed.org_id)) AS told
  `.execute(db);
  const inserted: { org_id: string; id: string }[] = [];
  const schedules = new Map<string, CycleSchedule>();
  for (const row of result.rows) {
    if (row.kind === "org" && row.anchor_day !== null) {
      schedules.set(
        row.org_id,
        cycleScheduleOf({
          cycle_anchor_day: row.anchor_day,
          cycle_bridge_start: row.bridge_start,
          cycle_bridge_end: row.bridge_end,
          cycle_before_bridge: row.before_bridge,
        }),
      );
    } else if (row.kind === "inserted" && row.id !== null) inserted.push({ org_id: row.org_id, id: row.id });
  }
  return { inserted, schedules };
}

export async function findPayloadHashes(
  db: Kysely<Schema>,
  keys: { org_id: string; id: string }[],
): Promise<{ org_id: string; id: string; payload_hash: string }[]> {
  if (keys.length === 0) return [];
  const result = await sql<{ org_id: string; id: string; payload_hash: string }>`
    SELECT e.org_id, e.id, e.payload_hash
    FROM unnest(${keys.map((key) => key.org_id)}::text[], ${keys.map((key) => key.id)}::text[]) AS k (org_id, id)
    JOIN usage_events e ON e.org_id = k.org_id AND e.id = k.id
  `.execute(db);
  return result.rows;
}
