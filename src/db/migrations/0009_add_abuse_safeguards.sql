-- Safeguards against abuse, counted from rows the database keeps so that they hold across
-- processes and restarts: who created each organization, billing emails confirmed by a link,
-- and paid credit checkouts whose amounts disagree with what was asked.

-- The person who created the organization, so the organizations one person creates a day can be
-- counted. NULL for organizations created before it was recorded. The index answers "which
-- organizations did this person create lately", as org_members (user_id) answers sign-in.
ALTER TABLE orgs ADD COLUMN created_by text REFERENCES users (id);
CREATE INDEX orgs_created_by_idx ON orgs (created_by, created_at);

-- A billing email receives billing mail only once someone opened the link sent to it; NULL while
-- it waits. Addresses set before this rule already received billing mail: they stay confirmed.
ALTER TABLE orgs ADD COLUMN billing_email_confirmed_at timestamptz;
UPDATE orgs SET billing_email_confirmed_at = created_at;

-- Links sent to a billing email to confirm it. Only the SHA-256 of the token is kept; the token
-- names its organization, so the lookup leads with org_id like every key of the org's tables.
-- A link confirms the address it was sent to, once, before it expires.
CREATE TABLE billing_email_confirmations (
  org_id text NOT NULL REFERENCES orgs (id),
  token_hash text NOT NULL,
  email text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  PRIMARY KEY (org_id, token_hash)
);
CREATE INDEX billing_email_confirmations_created_idx ON billing_email_confirmations (org_id, created_at);

-- An organization's custom-plan requests are counted by creation time, as its API keys are
-- (api_keys_org_id_idx).
CREATE INDEX contact_requests_created_idx ON contact_requests (org_id, created_at);

-- A credit Checkout Session Stripe says was paid, for other amounts than Meterline asked (a
-- tampered session, a misconfigured price): nothing is granted, and support settles it by hand.
-- One row per session, whoever saw it first (the webhook or the browser's return).
CREATE TABLE credit_payment_mismatches (
  org_id text NOT NULL REFERENCES orgs (id),
  session_id text NOT NULL,
  payment_intent_id text,
  -- What Meterline asked: the credits bought, at the catalog's price, in its currency. NULL
  -- when the quantity itself is outside what Meterline offers.
  asked_subtotal_cents bigint,
  asked_currency text NOT NULL,
  -- What Stripe says was paid.
  paid_quantity bigint,
  paid_unit_amount_cents bigint,
  paid_subtotal_cents bigint,
  paid_total_cents bigint,
  paid_currency text,
  problem text NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (org_id, session_id)
);
