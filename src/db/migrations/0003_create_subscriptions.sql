-- Plans and subscriptions through Stripe.

-- Every organization starts on a trial; its end is fixed at creation from the catalog.
ALTER TABLE orgs ADD COLUMN trial_ends_at timestamptz;
UPDATE orgs SET trial_ends_at = created_at + interval '15 days';
ALTER TABLE orgs ALTER COLUMN trial_ends_at SET NOT NULL;

-- One Stripe customer per organization, created on its first checkout.
CREATE TABLE stripe_customers (
  org_id text PRIMARY KEY REFERENCES orgs (id),
  customer_id text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX stripe_customers_customer_id_key ON stripe_customers (customer_id);

-- The organization's subscription as last read from Stripe. Only the webhook handler and the
-- customer's own actions write it, always from a fresh read of Stripe: nothing upgrades by itself.
-- id is ours and stays while the Stripe subscription does (a plan change keeps it).
CREATE TABLE subscriptions (
  org_id text PRIMARY KEY REFERENCES orgs (id),
  id text NOT NULL,
  stripe_subscription_id text NOT NULL,
  plan text NOT NULL,
  interval text NOT NULL CHECK (interval IN ('month', 'year')),
  status text NOT NULL CHECK (status IN ('incomplete', 'incomplete_expired', 'trialing', 'active',
    'past_due', 'canceled', 'unpaid', 'paused')),
  current_period_start timestamptz NOT NULL,
  current_period_end timestamptz NOT NULL CHECK (current_period_end > current_period_start),
  anchor_day integer NOT NULL CHECK (anchor_day BETWEEN 1 AND 31),
  cancel_at_period_end boolean NOT NULL,
  past_due_since timestamptz CHECK ((status = 'past_due') = (past_due_since IS NOT NULL)),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL
);

-- Checkout Sessions opened for an organization, so an older open one can be expired when a new
-- one starts (only one subscription checkout can then be paid).
CREATE TABLE checkout_sessions (
  org_id text NOT NULL REFERENCES orgs (id),
  session_id text NOT NULL,
  mode text NOT NULL CHECK (mode IN ('subscription', 'payment')),
  plan text,
  interval text CHECK (interval IN ('month', 'year')),
  status text NOT NULL CHECK (status IN ('open', 'complete', 'expired')),
  created_by text REFERENCES users (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, session_id)
);
CREATE INDEX checkout_sessions_open_idx ON checkout_sessions (org_id, mode) WHERE status = 'open';

-- The Stripe products and prices `meterline stripe sync` made from the catalog. A reference
-- table: it belongs to the platform, not to an organization.
CREATE TABLE stripe_prices (
  plan text NOT NULL,
  interval text NOT NULL CHECK (interval IN ('month', 'year')),
  product_id text NOT NULL,
  price_id text NOT NULL,
  unit_amount_cents bigint NOT NULL CHECK (unit_amount_cents > 0),
  currency text NOT NULL,
  synced_at timestamptz NOT NULL,
  PRIMARY KEY (plan, interval)
);
CREATE UNIQUE INDEX stripe_prices_price_id_key ON stripe_prices (price_id);

-- Every Stripe event id ever processed: a delivery whose id is here is a no-op. A platform
-- table (an event may name no organization); org_id records the one it touched, if any.
CREATE TABLE stripe_events (
  event_id text PRIMARY KEY,
  type text NOT NULL,
  org_id text REFERENCES orgs (id),
  created_at timestamptz NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now()
);

-- Requests for a custom plan, for the sales team.
CREATE TABLE contact_requests (
  org_id text NOT NULL REFERENCES orgs (id),
  id text NOT NULL,
  user_id text NOT NULL REFERENCES users (id),
  message text NOT NULL CHECK (length(message) BETWEEN 1 AND 5000),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, id)
);
