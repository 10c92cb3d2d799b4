-- Counts the syncs from Stripe that changed an organization's stored subscription. A sync reads
-- Stripe outside any transaction, then writes under the organization's lock only if no such sync
-- committed since it began; otherwise it reads Stripe again. So a slow, stale read never overwrites a newer
-- one, and no transaction waits on Stripe.
ALTER TABLE stripe_customers ADD COLUMN synced_version bigint NOT NULL DEFAULT 0;
