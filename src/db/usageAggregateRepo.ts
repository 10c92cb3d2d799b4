import { type Kysely, sql } from "kysely";
import { type Cycle, MAX_CYCLE_DAYS } from "../domain/cycles.js";
import type { Metric } from "../domain/usageEvents.js";
import type { Schema } from "./schema.js";

/** A UTC day as the database's `date`: "2026-11-26". */
export const dayOf = (at: Date): string => at.toISOString().slice(0, 10);

/** Usage of one cycle from the aggregates, except storage over time (see `storageByteMs`). */
export async function cycleTotals(
  db: Kysely<Schema>,
  { orgId, cycle }: { orgId: string; cycle: Cycle },
): Promise<{
  mauDevices: bigint;
  bandwidthBytes: bigint;
  buildSeconds: bigint;
  storageCurrentBytes: bigint;
}> {
  const start = dayOf(cycle.start);
  const end = dayOf(cycle.end);
  const result = await sql<{ mau: string; bandwidth: string; build: string; storage: string }>`
    SELECT
      (SELECT coalesce(sum(devices), 0) FROM mau_counts WHERE org_id = ${orgId} AND cycle_start = ${start}::date) AS mau,
      (SELECT coalesce(sum(quantity), 0) FROM usage_daily
        WHERE org_id = ${orgId} AND metric = 'bandwidth' AND day >= ${start}::date AND day < ${end}::date) AS bandwidth,
      (SELECT coalesce(sum(quantity), 0) FROM usage_daily
        WHERE org_id = ${orgId} AND metric = 'build_minutes' AND day >= ${start}::date AND day < ${end}::date) AS build,
      (SELECT coalesce(sum(bytes), 0) FROM storage_gauges WHERE org_id = ${orgId}) AS storage
  `.execute(db);
  const row = result.rows[0];
  if (!row) throw new Error("aggregate query answered no row");
  return {
    mauDevices: BigInt(row.mau),
    bandwidthBytes: BigInt(row.bandwidth),
    buildSeconds: BigInt(row.build),
    storageCurrentBytes: BigInt(row.storage),
  };
}

/**
 * The MAU, bandwidth bytes and build seconds of each cycle given, in the order given: the
 * organization's history, for telling a spike from lasting growth.
 */
export async function cyclesTotals(
  db: Kysely<Schema>,
  { orgId, cycles }: { orgId: string; cycles: Cycle[] },
): Promise<{ mauDevices: bigint; bandwidthBytes: bigint; buildSeconds: bigint }[]> {
  if (cycles.length === 0) return [];
  const spans = sql.join(
    cycles.map(
      (cycle, index) => sql`(${index}::integer, ${dayOf(cycle.start)}::date, ${dayOf(cycle.end)}::date)`,
    ),
  );
  const result = await sql<{ mau: string; bandwidth: string; build: string }>`
    SELECT
      -- by range, not by key: a cycle counted under an earlier anchor day still belongs to its span
      (SELECT coalesce(sum(devices), 0) FROM mau_counts
        WHERE org_id = ${orgId} AND cycle_start >= span.start AND cycle_start < span.finish) AS mau,
      (SELECT coalesce(sum(quantity), 0) FROM usage_daily
        WHERE org_id = ${orgId} AND metric = 'bandwidth' AND day >= span.start AND day < span.finish) AS bandwidth,
      (SELECT coalesce(sum(quantity), 0) FROM usage_daily
        WHERE org_id = ${orgId} AND metric = 'build_minutes' AND day >= span.start AND day < span.finish) AS build
    FROM (VALUES ${spans}) AS span (position, start, finish)
    ORDER BY span.position
  `.execute(db);
  return result.rows.map((row) => ({
    mauDevices: BigInt(row.mau),
    bandwidthBytes: BigInt(row.bandwidth),
    buildSeconds: BigInt(row.build),
  }));
}

/**
 * Stored bytes integrated from the cycle's start to `until`, in byte-milliseconds: each app's
 * reading holds until its next one; the reading in force when the cycle began counts from then.
 */
export async function storageByteMs(
  db: Kysely<Schema>,
  { orgId, cycle, until }: { orgId: string; cycle: Cycle; until: Date },
): Promise<bigint> {
  const result = await sql<{ app_id: string; occurred_at: Date; value: bigint }>`
    SELECT app_id, occurred_at, value FROM usage_events
    WHERE org_id = ${orgId} AND metric = 'storage' AND occurred_at >= ${cycle.start} AND occurred_at < ${until}
    UNION ALL
    (SELECT DISTINCT ON (app_id) app_id, occurred_at, value FROM usage_events
     WHERE org_id = ${orgId} AND metric = 'storage' AND occurred_at < ${cycle.start}
     ORDER BY app_id, occurred_at DESC)
  `.execute(db);
  const byApp = new Map<string, { at: bigint; bytes: bigint }[]>();
  for (const row of result.rows) {
    const readings = byApp.get(row.app_id) ?? [];
    readings.push({ at: BigInt(new Date(row.occurred_at).getTime()), bytes: BigInt(row.value) });
    byApp.set(row.app_id, readings);
  }
  const from = BigInt(cycle.start.getTime());
  const to = BigInt(until.getTime());
  let total = 0n;
  for (const readings of byApp.values()) {
    readings.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    readings.forEach((reading, index) => {
      const begin = reading.at > from ? reading.at : from;
      const next = readings[index + 1]?.at ?? to;
      const finish = next < to ? next : to;
      if (finish > begin) total += reading.bytes * (finish - begin);
    });
  }
  return total;
}

export interface DailyPoint {
  day: string;
  value: bigint;
}

/**
 * Per UTC day in [from, to): bytes or seconds for bandwidth and build minutes; devices first
 * seen that day in its cycle for MAU; the stored bytes at the day's end for storage.
 */
export async function dailySeries(
  db: Kysely<Schema>,
  { orgId, metric, from, to }: { orgId: string; metric: Metric; from: string; to: string },
): Promise<DailyPoint[]> {
  if (metric === "bandwidth" || metric === "build_minutes") {
    const rows = await db
      .selectFrom("usage_daily")
      .select(["day", "quantity"])
      .where("org_id", "=", orgId)
      .where("metric", "=", metric)
      .where("day", ">=", from)
      .where("day", "<", to)
      .orderBy("day")
      .execute();
    return rows.map((row) => ({ day: row.day, value: BigInt(row.quantity) }));
  }
  if (metric === "mau") {
    const rows = await db
      .selectFrom("mau_devices")
      .select(["first_seen as day", (eb) => eb.fn.countAll<string>().as("value")])
      .where("org_id", "=", orgId)
      // Each day counts in its own cycle, which starts at most MAX_CYCLE_DAYS before its days.
      .where("cycle_start", ">=", dayOf(new Date(Date.parse(from) - MAX_CYCLE_DAYS * 86_400_000)))
      .where("cycle_start", "<", to)
      .where("first_seen", ">=", from)
      .where("first_seen", "<", to)
      .groupBy("first_seen")
      .orderBy("first_seen")
      .execute();
    return rows.map((row) => ({ day: row.day, value: BigInt(row.value) }));
  }
  const result = await sql<{ day: string; value: string }>`
    SELECT day::date::text AS day, coalesce((
      SELECT sum(latest.value) FROM (
        SELECT DISTINCT ON (app_id) value FROM usage_events
        WHERE org_id = ${orgId} AND metric = 'storage'
          AND occurred_at < (day + interval '1 day') AT TIME ZONE 'UTC'
        ORDER BY app_id, occurred_at DESC
      ) AS latest), 0)::text AS value
    -- timestamps without a zone, read as UTC: day boundaries never follow the session's zone
    FROM generate_series(${from}::timestamp, ${to}::timestamp - interval '1 day', interval '1 day') AS day
  `.execute(db);
  return result.rows.map((row) => ({ day: row.day, value: BigInt(row.value) }));
}
