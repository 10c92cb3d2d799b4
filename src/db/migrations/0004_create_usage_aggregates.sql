-- Usage aggregates, kept up to date as events are accepted, so reading a cycle's usage (and the
-- entitlement check) never scans raw events. They are derived from usage_events, written only by
-- the ingestion statement (which joins orgs) and the recount, and can be rebuilt from the events:
-- they carry org_id without a foreign key, which would cost a lookup per row on the hot path.

-- The anchor day the organization's cycles are counted by: its live subscription's, else 1
-- (calendar months). Changed only together with a rebuild of the MAU aggregate.
ALTER TABLE orgs ADD COLUMN cycle_anchor_day integer NOT NULL DEFAULT 1
  CHECK (cycle_anchor_day BETWEEN 1 AND 31);

-- The first day of the billing cycle containing `at`, for cycles starting on `anchor_day` at
-- 00:00 UTC (clamped to the month's last day). The same rule as domain/cycles.ts, which tests
-- hold it to.
CREATE FUNCTION meterline_cycle_start(at timestamptz, anchor_day integer) RETURNS date
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT CASE WHEN day >= this_anchor THEN this_anchor ELSE previous_anchor END
  FROM (
    SELECT day,
      month_start + least(anchor_day, extract(day FROM month_start + interval '1 month - 1 day')::integer) - 1
        AS this_anchor,
      previous_month + least(anchor_day, extract(day FROM previous_month + interval '1 month - 1 day')::integer) - 1
        AS previous_anchor
    FROM (
      SELECT day, date_trunc('month', day)::date AS month_start,
        (date_trunc('month', day) - interval '1 month')::date AS previous_month
      FROM (SELECT (at AT TIME ZONE 'UTC')::date AS day) AS d
    ) AS m
  ) AS a
$$;

-- Sums per UTC day: bytes served (bandwidth) and build seconds (build_minutes). A cycle is a
-- run of whole UTC days, so its total is the sum of its days.
CREATE TABLE usage_daily (
  org_id text NOT NULL,
  metric text NOT NULL CHECK (metric IN ('bandwidth', 'build_minutes')),
  day date NOT NULL,
  -- numeric: a day's sum of 64-bit values can pass 2^63
  quantity numeric NOT NULL CHECK (quantity >= 0),
  PRIMARY KEY (org_id, metric, day)
);

-- Each device seen in a cycle, once, with the day it was first seen in it: MAU is the count of
-- a cycle's rows, exact and distinct across the organization's apps.
CREATE TABLE mau_devices (
  org_id text NOT NULL,
  cycle_start date NOT NULL,
  device_id text NOT NULL,
  first_seen date NOT NULL,
  PRIMARY KEY (org_id, cycle_start, device_id)
);

-- The number of rows of mau_devices per cycle, counted as they are inserted: a cycle's MAU is one
-- row to read however many devices it has.
CREATE TABLE mau_counts (
  org_id text NOT NULL,
  cycle_start date NOT NULL,
  devices bigint NOT NULL CHECK (devices >= 0),
  PRIMARY KEY (org_id, cycle_start)
);

-- The latest stored-bytes reading of each app: the live storage gate.
CREATE TABLE storage_gauges (
  org_id text NOT NULL,
  app_id text NOT NULL,
  bytes bigint NOT NULL CHECK (bytes >= 0),
  measured_at timestamptz NOT NULL,
  PRIMARY KEY (org_id, app_id)
);
