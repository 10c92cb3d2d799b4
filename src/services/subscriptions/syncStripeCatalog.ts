import type { Kysely } from "kysely";
import type { Schema } from "../../db/schema.js";
import { findStripePrice, type StripePriceRow, saveStripePrice } from "../../db/stripeRepo.js";
import { type Catalog, type Interval, intervals, type Plan, priceCents } from "../../domain/catalog.js";
import type { StripeGateway } from "../../stripe/gateway.js";

export interface PriceSync {
  plan: string;
  interval: Interval;
  priceId: string;
  unitAmountCents: number;
  action: "created" | "replaced" | "unchanged";
}

const productIdOf = (plan: Plan) => `meterline_${plan.id}`;
const lookupKeyOf = (plan: Plan, interval: Interval) => `meterline_${plan.id}_${interval}`;

/**
 * Makes Stripe's products and prices match the catalog and records the price ids. Idempotent:
 * run twice, the second run changes nothing. Stripe prices are immutable, so a new amount gets a
 * new price, which takes the lookup key over; the old price is deactivated and subscriptions on it
 * keep it until they change plan.
 */
export async function syncStripeCatalog({
  db,
  stripe,
  catalog,
  now,
}: {
  db: Kysely<Schema>;
  stripe: StripeGateway;
  catalog: Catalog;
  now: Date;
}): Promise<PriceSync[]> {
  const results: PriceSync[] = [];
  for (const plan of catalog.plans) results.push(...(await syncPlan({ db, stripe, catalog, plan, now })));
  return results;
}

async function syncPlan({
  db,
  stripe,
  catalog,
  plan,
  now,
}: {
  db: Kysely<Schema>;
  stripe: StripeGateway;
  catalog: Catalog;
  plan: Plan;
  now: Date;
}): Promise<PriceSync[]> {
  await stripe.upsertProduct({
    id: productIdOf(plan),
    name: `${plan.name} plan`,
    description: plan.features.join(", ") || plan.name,
  });
  const results: PriceSync[] = [];
  for (const interval of intervals)
    results.push(await syncPrice({ db, stripe, catalog, plan, interval, now }));
  return results;
}

async function syncPrice({
  db,
  stripe,
  catalog,
  plan,
  interval,
  now,
}: {
  db: Kysely<Schema>;
  stripe: StripeGateway;
  catalog: Catalog;
  plan: Plan;
  interval: Interval;
  now: Date;
}): Promise<PriceSync> {
  const want = priceCents(plan, interval);
  const productId = productIdOf(plan);
  const lookupKey = lookupKeyOf(plan, interval);
  const existing = await stripe.priceByLookupKey(lookupKey);
  const matches =
    existing?.active &&
    existing.unitAmountCents === want &&
    existing.currency === catalog.currency &&
    existing.interval === interval &&
    existing.productId === productId &&
    existing.taxBehavior === "exclusive";
  let price = existing;
  let action: PriceSync["action"] = "unchanged";
  if (!price || !matches) {
    price = await stripe.createPlanPrice({
      productId,
      lookupKey,
      unitAmountCents: want,
      currency: catalog.currency,
      interval,
      plan: plan.id,
    });
    if (existing) await stripe.deactivatePrice(existing.id);
    action = existing ? "replaced" : "created";
  }
  const row: StripePriceRow = {
    plan: plan.id,
    interval,
    product_id: productId,
    price_id: price.id,
    unit_amount_cents: BigInt(want),
    currency: catalog.currency,
    synced_at: now,
  };
  await saveStripePrice(db, row);
  return { plan: plan.id, interval, priceId: price.id, unitAmountCents: want, action };
}

/**
 * The Stripe price of a plan and interval, from the server's catalog (never from the client).
 * A price missing or out of date with the catalog is synced first.
 */
export async function stripePriceFor({
  db,
  stripe,
  catalog,
  plan,
  interval,
  now,
}: {
  db: Kysely<Schema>;
  stripe: StripeGateway;
  catalog: Catalog;
  plan: Plan;
  interval: Interval;
  now: Date;
}): Promise<string> {
  const recorded = await findStripePrice(db, { plan: plan.id, interval });
  if (
    recorded &&
    recorded.unit_amount_cents === BigInt(priceCents(plan, interval)) &&
    recorded.currency === catalog.currency
  ) {
    return recorded.price_id;
  }
  const synced = await syncPlan({ db, stripe, catalog, plan, now });
  const price = synced.find((sync) => sync.interval === interval);
  if (!price) throw new Error(`syncing ${plan.id} made no ${interval} price`);
  return price.priceId;
}
