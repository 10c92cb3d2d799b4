import type { Kysely } from "kysely";
import type { Interval } from "../domain/catalog.js";
import type { Schema, StripePricesTable } from "./schema.js";

/** Platform tables about Stripe: the prices made from the catalog, and the events processed. */

export type StripePriceRow = StripePricesTable;

export async function findStripePrice(
  db: Kysely<Schema>,
  { plan, interval }: { plan: string; interval: Interval },
): Promise<StripePriceRow | undefined> {
  return db
    .selectFrom("stripe_prices")
    .selectAll()
    .where("plan", "=", plan)
    .where("interval", "=", interval)
    .executeTakeFirst();
}

export async function saveStripePrice(db: Kysely<Schema>, row: StripePriceRow): Promise<void> {
  const { plan, interval, ...rest } = row;
  await db
    .insertInto("stripe_prices")
    .values(row)
    .onConflict((oc) => oc.columns(["plan", "interval"]).doUpdateSet(rest))
    .execute();
}

/**
 * Claims an event id, forever. False when it was claimed before: the event is then a no-op.
 * Run inside the transaction that applies the event, so a failure releases the claim.
 */
export async function claimStripeEvent(
  db: Kysely<Schema>,
  event: { eventId: string; type: string; orgId: string | null; createdAt: Date },
): Promise<boolean> {
  const inserted = await db
    .insertInto("stripe_events")
    .values({ event_id: event.eventId, type: event.type, org_id: event.orgId, created_at: event.createdAt })
    .onConflict((oc) => oc.column("event_id").doNothing())
    .returning("event_id")
    .executeTakeFirst();
  return inserted !== undefined;
}

export async function isStripeEventProcessed(db: Kysely<Schema>, eventId: string): Promise<boolean> {
  const row = await db
    .selectFrom("stripe_events")
    .select("event_id")
    .where("event_id", "=", eventId)
    .executeTakeFirst();
  return row !== undefined;
}
