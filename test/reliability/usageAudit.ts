import { type Kysely, sql } from "kysely";
import type { Schema } from "../../src/db/schema.js";
import type { WireEvent } from "./usageLoad.js";

export interface AuditFindings {
  stored: number;
  /** Acknowledged events with no row. */
  missing: string[];
  /** Rows of events never sent, or stored with other contents than sent. */
  unexpected: string[];
  altered: string[];
  /** (org_id, id) keys with more than one row. */
  repeated: string[];
  /** Aggregate rows that differ from what the stored events add up to. */
  dailyDrift: object[];
  mauDeviceDrift: object[];
  mauCountDrift: object[];
  gaugeDrift: object[];
}

/**
 * Compares what the database holds for `orgIds` with the acknowledged events, and every
 * aggregate with what the stored events add up to: sums per organization, metric and UTC day;
 * each device once per cycle (by the organization's anchor day, as `meterline_cycle_start`
 * derives it) with the day it was first seen; the cycle's device counter; the latest storage
 * reading per app. Every list is empty when all is well.
 */
export async function auditUsage(
  db: Kysely<Schema>,
  { orgIds, acknowledged }: { orgIds: string[]; acknowledged: Map<string, WireEvent> },
): Promise<AuditFindings> {
  const rows = await sql<{
    org_id: string;
    id: string;
    app_id: string;
    metric: string;
    occurred_at: Date;
    device_id: string | null;
    value: string | null;
    copies: string;
  }>`
    SELECT org_id, id, app_id, metric, occurred_at, device_id, value::text AS value,
      count(*) OVER (PARTITION BY org_id, id)::text AS copies
    FROM usage_events WHERE org_id = ANY (${orgIds}::text[])
  `.execute(db);
  const seen = new Set<string>();
  const unexpected: string[] = [];
  const altered: string[] = [];
  const repeated: string[] = [];
  for (const row of rows.rows) {
    const key = `${row.org_id}\n${row.id}`;
    if (row.copies !== "1") repeated.push(`${row.org_id}/${row.id} × ${row.copies}`);
    seen.add(key);
    const sent = acknowledged.get(key);
    if (!sent) {
      unexpected.push(`${row.org_id}/${row.id}`);
      continue;
    }
    const same =
      sent.app_id === row.app_id &&
      sent.metric === row.metric &&
      Date.parse(sent.timestamp) === new Date(row.occurred_at).getTime() &&
      (sent.device_id ?? null) === row.device_id &&
      (sent.value === undefined ? null : String(sent.value)) === row.value;
    if (!same)
      altered.push(`${row.org_id}/${row.id}: sent ${JSON.stringify(sent)}, stored ${JSON.stringify(row)}`);
  }
  const missing = [...acknowledged.keys()]
    .filter((key) => !seen.has(key))
    .map((key) => key.replace("\n", "/"));

  const dailyDrift = await sql<object>`
    WITH summed AS (
      SELECT org_id, metric, (occurred_at AT TIME ZONE 'UTC')::date AS day, sum(value) AS quantity
      FROM usage_events
      WHERE org_id = ANY (${orgIds}::text[]) AND metric IN ('bandwidth', 'build_minutes')
      GROUP BY 1, 2, 3
    ),
    kept AS (SELECT org_id, metric, day, quantity FROM usage_daily WHERE org_id = ANY (${orgIds}::text[]))
    SELECT coalesce(s.org_id, k.org_id) AS org_id, coalesce(s.metric, k.metric) AS metric,
      coalesce(s.day, k.day)::text AS day, s.quantity::text AS events_sum, k.quantity::text AS aggregate
    FROM summed s FULL JOIN kept k ON k.org_id = s.org_id AND k.metric = s.metric AND k.day = s.day
    WHERE s.quantity IS DISTINCT FROM k.quantity
  `.execute(db);

  const mauDeviceDrift = await sql<object>`
    WITH seen AS (
      SELECT e.org_id, meterline_org_cycle_start(e.occurred_at, o.cycle_anchor_day, o.cycle_bridge_start,
        o.cycle_bridge_end, o.cycle_before_bridge) AS cycle_start, e.device_id,
        min((e.occurred_at AT TIME ZONE 'UTC')::date) AS first_seen
      FROM usage_events e JOIN orgs o ON o.id = e.org_id
      WHERE e.org_id = ANY (${orgIds}::text[]) AND e.metric = 'mau'
      GROUP BY 1, 2, 3
    ),
    kept AS (SELECT * FROM mau_devices WHERE org_id = ANY (${orgIds}::text[]))
    SELECT coalesce(s.org_id, k.org_id) AS org_id, coalesce(s.cycle_start, k.cycle_start)::text AS cycle_start,
      coalesce(s.device_id, k.device_id) AS device_id, s.first_seen::text AS events_first_seen,
      k.first_seen::text AS aggregate_first_seen
    FROM seen s FULL JOIN kept k
      ON k.org_id = s.org_id AND k.cycle_start = s.cycle_start AND k.device_id = s.device_id
    WHERE s.first_seen IS DISTINCT FROM k.first_seen
  `.execute(db);

  const mauCountDrift = await sql<object>`
    WITH counted AS (
      SELECT org_id, cycle_start, devices FROM mau_counts WHERE org_id = ANY (${orgIds}::text[])
    ),
    listed AS (
      SELECT org_id, cycle_start, count(*) AS devices FROM mau_devices
      WHERE org_id = ANY (${orgIds}::text[]) GROUP BY 1, 2
    ),
    seen AS (
      SELECT e.org_id, meterline_org_cycle_start(e.occurred_at, o.cycle_anchor_day, o.cycle_bridge_start,
        o.cycle_bridge_end, o.cycle_before_bridge) AS cycle_start,
        count(DISTINCT e.device_id) AS devices
      FROM usage_events e JOIN orgs o ON o.id = e.org_id
      WHERE e.org_id = ANY (${orgIds}::text[]) AND e.metric = 'mau'
      GROUP BY 1, 2
    ),
    cycles AS (
      SELECT org_id, cycle_start FROM counted UNION SELECT org_id, cycle_start FROM listed
      UNION SELECT org_id, cycle_start FROM seen
    )
    SELECT c.org_id, c.cycle_start::text AS cycle_start, counted.devices::text AS counter,
      listed.devices::text AS mau_devices, seen.devices::text AS distinct_event_devices
    FROM cycles c
      LEFT JOIN counted USING (org_id, cycle_start)
      LEFT JOIN listed USING (org_id, cycle_start)
      LEFT JOIN seen USING (org_id, cycle_start)
    WHERE counted.devices IS DISTINCT FROM listed.devices OR counted.devices IS DISTINCT FROM seen.devices
  `.execute(db);

  const gaugeDrift = await sql<object>`
    WITH latest AS (
      SELECT DISTINCT ON (org_id, app_id) org_id, app_id, value, occurred_at FROM usage_events
      WHERE org_id = ANY (${orgIds}::text[]) AND metric = 'storage'
      ORDER BY org_id, app_id, occurred_at DESC
    ),
    kept AS (SELECT * FROM storage_gauges WHERE org_id = ANY (${orgIds}::text[]))
    SELECT coalesce(l.org_id, k.org_id) AS org_id, coalesce(l.app_id, k.app_id) AS app_id,
      l.value::text AS latest_value, l.occurred_at::text AS latest_at,
      k.bytes::text AS gauge_bytes, k.measured_at::text AS gauge_at
    FROM latest l FULL JOIN kept k ON k.org_id = l.org_id AND k.app_id = l.app_id
    WHERE l.value IS DISTINCT FROM k.bytes OR l.occurred_at IS DISTINCT FROM k.measured_at
  `.execute(db);

  return {
    stored: rows.rows.length,
    missing,
    unexpected,
    altered,
    repeated,
    dailyDrift: dailyDrift.rows,
    mauDeviceDrift: mauDeviceDrift.rows,
    mauCountDrift: mauCountDrift.rows,
    gaugeDrift: gaugeDrift.rows,
  };
}

/**
 * Everything ingestion writes for `orgIds`, as sorted lines: equal snapshots mean nothing was
 * inserted or changed in between.
 */
export async function usageSnapshot(db: Kysely<Schema>, orgIds: string[]): Promise<Record<string, string[]>> {
  const lines = async (query: ReturnType<typeof sql<{ line: string }>>) =>
    (await query.execute(db)).rows.map((row) => row.line);
  return {
    events: await lines(sql<{ line: string }>`
      SELECT concat_ws('|', count(*), max(received_at)) AS line
      FROM usage_events WHERE org_id = ANY (${orgIds}::text[])
    `),
    daily: await lines(sql<{ line: string }>`
      SELECT concat_ws('|', org_id, metric, day, quantity) AS line
      FROM usage_daily WHERE org_id = ANY (${orgIds}::text[]) ORDER BY 1
    `),
    mauDevices: await lines(sql<{ line: string }>`
      SELECT concat_ws('|', org_id, cycle_start, device_id, first_seen) AS line
      FROM mau_devices WHERE org_id = ANY (${orgIds}::text[]) ORDER BY 1
    `),
    mauCounts: await lines(sql<{ line: string }>`
      SELECT concat_ws('|', org_id, cycle_start, devices) AS line
      FROM mau_counts WHERE org_id = ANY (${orgIds}::text[]) ORDER BY 1
    `),
    gauges: await lines(sql<{ line: string }>`
      SELECT concat_ws('|', org_id, app_id, bytes, measured_at) AS line
      FROM storage_gauges WHERE org_id = ANY (${orgIds}::text[]) ORDER BY 1
    `),
  };
}
