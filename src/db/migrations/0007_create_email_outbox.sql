-- The email outbox. A row is written in the same transaction as the change it tells of, with
-- the facts to tell (rendered when sent) and its recipients; the dedupe key, unique per
-- organization, makes each email (an org, metric, threshold and cycle; a purchase; …) exist
-- once however often the change is seen. Rows are kept: they are the history the console and
-- `meterline mail list` show, and without SMTP settings they are the local mailbox.
CREATE TABLE emails (
  org_id text NOT NULL REFERENCES orgs (id),
  id text NOT NULL,
  kind text NOT NULL,
  dedupe_key text NOT NULL,
  facts jsonb NOT NULL,
  recipients text[] NOT NULL CHECK (cardinality(recipients) > 0),
  -- pending → sending (claimed by one dispatcher) → sent; a failed attempt goes back to pending
  -- with a later next_attempt_at, until the attempts run out (failed). A claim whose dispatcher
  -- died mid-send is never sent again (unconfirmed): an email is sent at most once.
  status text NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'unconfirmed')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL,
  claimed_at timestamptz,
  sent_at timestamptz,
  -- 'smtp', or 'mailbox' when no SMTP server is set
  transport text,
  last_error text,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (org_id, id)
);
CREATE UNIQUE INDEX emails_dedupe_key ON emails (org_id, dedupe_key);
CREATE INDEX emails_due_idx ON emails (next_attempt_at) WHERE status = 'pending';
CREATE INDEX emails_claimed_idx ON emails (claimed_at) WHERE status = 'sending';

-- Kinds of email a member chose not to receive for an organization.
CREATE TABLE email_opt_outs (
  org_id text NOT NULL REFERENCES orgs (id),
  user_id text NOT NULL REFERENCES users (id),
  kind text NOT NULL,
  PRIMARY KEY (org_id, user_id, kind)
);
