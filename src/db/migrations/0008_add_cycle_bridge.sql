-- Cycles around a change of anchor day (domain/cycles.ts, CycleSchedule): the cycle that was
-- running when the anchor day last changed keeps its start and runs on to the new anchor day's
-- next boundary (the bridge), so no day ever moves to another cycle and what was counted and
-- charged for a cycle stays its own. `cycle_before_bridge` is where the cycle before the bridge
-- began, for events arriving late into it. All three are set together, under the org's row lock.
ALTER TABLE orgs
  ADD COLUMN cycle_bridge_start date,
  ADD COLUMN cycle_bridge_end date,
  ADD COLUMN cycle_before_bridge date,
  ADD CONSTRAINT orgs_cycle_bridge_check CHECK (
    (cycle_bridge_start IS NULL AND cycle_bridge_end IS NULL AND cycle_before_bridge IS NULL)
    OR (cycle_bridge_start < cycle_bridge_end AND cycle_before_bridge < cycle_bridge_start)
  );

-- The same rule as 0004's meterline_cycle_start, written as one expression so that PostgreSQL
-- inlines it into the ingestion statement instead of running a function per row.
CREATE OR REPLACE FUNCTION meterline_cycle_start(at timestamptz, anchor_day integer) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN (at AT TIME ZONE 'UTC')::date >= date_trunc('month', at AT TIME ZONE 'UTC')::date
      + least(anchor_day, extract(day FROM date_trunc('month', at AT TIME ZONE 'UTC') + interval '1 month - 1 day')::integer) - 1
    THEN date_trunc('month', at AT TIME ZONE 'UTC')::date
      + least(anchor_day, extract(day FROM date_trunc('month', at AT TIME ZONE 'UTC') + interval '1 month - 1 day')::integer) - 1
    ELSE (date_trunc('month', at AT TIME ZONE 'UTC') - interval '1 month')::date
      + least(anchor_day, extract(day FROM date_trunc('month', at AT TIME ZONE 'UTC') - interval '1 day')::integer) - 1
  END
$$;

-- The first day of the organization's billing cycle containing `at`: the same rule as cycleAt in
-- domain/cycles.ts, which tests hold it to. One expression, inlined like the one above.
CREATE FUNCTION meterline_org_cycle_start(
  at timestamptz, anchor_day integer, bridge_start date, bridge_end date, before_bridge date
) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN bridge_start IS NULL OR (at AT TIME ZONE 'UTC')::date >= bridge_end THEN meterline_cycle_start(at, anchor_day)
    WHEN (at AT TIME ZONE 'UTC')::date >= bridge_start THEN bridge_start
    WHEN (at AT TIME ZONE 'UTC')::date >= before_bridge THEN before_bridge
    ELSE meterline_cycle_start(at, anchor_day)
  END
$$;
