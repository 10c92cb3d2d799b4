-- An organization's own overage tiers for some metrics, replacing the catalog's for those
-- metrics: {"mau": [{"up_to": 1000000, "price": "0.002"}, …], …}. NULL: the catalog's tiers.
-- Written only by the platform admin route, which validates it whole.
ALTER TABLE orgs ADD COLUMN credit_tiers jsonb;
