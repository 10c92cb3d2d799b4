-- Every accepted usage event, once: (org_id, id) is the idempotency key, forever. payload_hash
-- tells a repeat of the same event (a duplicate) from a different event reusing an id (refused).
CREATE TABLE usage_events (
  org_id text NOT NULL REFERENCES orgs (id),
  id text NOT NULL,
  app_id text NOT NULL,
  metric text NOT NULL CHECK (metric IN ('mau', 'bandwidth', 'storage', 'build_minutes')),
  occurred_at timestamptz NOT NULL,
  device_id text,
  value bigint CHECK (value >= 0),
  payload_hash text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, id),
  CHECK ((metric = 'mau') = (device_id IS NOT NULL)),
  CHECK ((metric = 'mau') = (value IS NULL))
);
CREATE INDEX usage_events_org_metric_time_idx ON usage_events (org_id, metric, occurred_at);
