-- Prepaid credits: grants, the append-only ledger, and each organization's balance. Amounts are
-- integer micro-credits (1 credit = 1 USD = 1,000,000). Only db/creditRepo.ts's posting path
-- writes them, in the transaction that writes the entry; the CHECKs are the backstop that keeps
-- any balance or grant from going below zero.

CREATE TABLE credit_accounts (
  org_id text PRIMARY KEY REFERENCES orgs (id),
  balance bigint NOT NULL CHECK (balance >= 0),
  updated_at timestamptz NOT NULL
);

CREATE TABLE credit_grants (
  org_id text NOT NULL REFERENCES orgs (id),
  id text NOT NULL,
  source text NOT NULL CHECK (source IN ('purchase', 'grant')),
  amount bigint NOT NULL CHECK (amount > 0),
  remaining bigint NOT NULL CHECK (remaining >= 0 AND remaining <= amount),
  expires_at timestamptz NOT NULL,
  note text,
  -- the Stripe payment of a purchase, so a refund finds the credits it takes back
  payment_intent_id text,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (org_id, id)
);
CREATE INDEX credit_grants_payment_intent_idx ON credit_grants (org_id, payment_intent_id) WHERE payment_intent_id IS NOT NULL;
-- Grants with something left, in the order they are spent: earliest expiry, then oldest.
CREATE INDEX credit_grants_spendable_idx ON credit_grants (org_id, expires_at, created_at, id) WHERE remaining > 0;

-- Append-only. An operation (a grant, a deduction, an expiry) writes one entry per grant it
-- touches, keyed `<operation key>#<n>`: the unique key makes a retried operation a no-op.
CREATE TABLE credit_entries (
  org_id text NOT NULL REFERENCES orgs (id),
  id text NOT NULL,
  type text NOT NULL CHECK (type IN ('purchase', 'grant', 'deduction', 'expiry', 'refund', 'adjustment')),
  amount bigint NOT NULL CHECK (amount <> 0),
  balance_after bigint NOT NULL CHECK (balance_after >= 0),
  grant_id text,
  metric text CHECK (metric IN ('mau', 'bandwidth', 'storage', 'build_minutes')),
  quantity numeric,
  description text NOT NULL,
  idempotency_key text NOT NULL,
  occurred_at timestamptz NOT NULL,
  PRIMARY KEY (org_id, id),
  -- credits come in by purchases and grants, leave by deductions, expiries and refunds, and an
  -- adjustment corrects either way
  CHECK (type = 'adjustment' OR (type IN ('purchase', 'grant')) = (amount > 0))
);
CREATE UNIQUE INDEX credit_entries_idempotency_key ON credit_entries (org_id, idempotency_key);

-- What has been deducted for each metric's overage in each cycle: the next deduction is the
-- cycle's overage cost so far minus this (what could not be paid stays owed until credits come).
CREATE TABLE overage_charges (
  org_id text NOT NULL REFERENCES orgs (id),
  metric text NOT NULL CHECK (metric IN ('mau', 'bandwidth', 'storage', 'build_minutes')),
  cycle_start date NOT NULL,
  charged bigint NOT NULL CHECK (charged >= 0),
  PRIMARY KEY (org_id, metric, cycle_start)
);
