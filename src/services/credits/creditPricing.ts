import type { Kysely } from "kysely";
import { findOrg, setCreditTiers } from "../../db/orgRepo.js";
import type { Schema } from "../../db/schema.js";
import { inTransaction } from "../../db/transaction.js";
import { type Catalog, creditTiersFor, type Tier, type TierOverrides } from "../../domain/catalog.js";
import { AppError } from "../../domain/errors.js";
import { type Metric, metrics } from "../../domain/usageEvents.js";

export interface CreditPricing {
  /** Per metric, the tiers the organization is charged and shown. */
  tiers: Record<Metric, Tier[]>;
  /** The metrics priced by the organization's own tiers rather than the catalog's. */
  custom: Metric[];
}

/** What overage costs the organization: its own tiers where set, the catalog's elsewhere. */
export async function readCreditPricing({
  db,
  catalog,
  orgId,
}: {
  db: Kysely<Schema>;
  catalog: Catalog;
  orgId: string;
}): Promise<CreditPricing> {
  const org = await findOrg(db, orgId);
  if (!org) throw new AppError("not_found", `Organization ${orgId} not found`);
  return pricingOf(catalog, org.credit_tiers);
}

/**
 * Sets the organization's own tiers (platform admins): the metrics given are priced by them,
 * the others by the catalog again. The cycle's overage is charged at the new prices from the
 * next charge on; what was already deducted stays deducted.
 */
export async function setCreditPricing({
  db,
  catalog,
  orgId,
  overrides,
}: {
  db: Kysely<Schema>;
  catalog: Catalog;
  orgId: string;
  overrides: TierOverrides;
}): Promise<CreditPricing> {
  const own = metrics.some((metric) => overrides[metric]) ? overrides : null;
  const org = await inTransaction(db, (tx) => setCreditTiers(tx, { orgId, overrides: own }));
  if (!org) throw new AppError("not_found", `Organization ${orgId} not found`);
  return pricingOf(catalog, org.credit_tiers);
}

function pricingOf(catalog: Catalog, overrides: TierOverrides | null): CreditPricing {
  return {
    tiers: creditTiersFor(catalog, overrides),
    custom: metrics.filter((metric) => overrides?.[metric]),
  };
}
