import { z } from "zod";
import type { CreditEntryRow } from "../db/creditReads.js";
import { billingUnits } from "../domain/catalog.js";
import { formatCredits } from "../domain/money.js";
import { type Metric, metrics } from "../domain/usageEvents.js";
import type { CreditPricing } from "../services/credits/creditPricing.js";
import { timestamp } from "./schemas.js";

// The credit ledger's entries and an organization's overage prices as the API shows them, to customers and to admins.

export const credits = z.string().describe('credits, a decimal string with six decimals: "12.500000"');

export const entry = z.object({
  id: z.string(),
  type: z.string(),
  amount: credits.describe("signed: credits in are positive, out negative"),
  balance_after: credits,
  metric: z.string().nullable(),
  quantity: z.string().nullable(),
  grant_id: z.string().nullable(),
  description: z.string(),
  occurred_at: timestamp,
});

export function entryView(row: CreditEntryRow): z.output<typeof entry> {
  return {
    id: row.id,
    type: row.type,
    amount: formatCredits(BigInt(row.amount)),
    balance_after: formatCredits(BigInt(row.balance_after)),
    metric: row.metric,
    quantity: row.quantity,
    grant_id: row.grant_id,
    description: row.description,
    occurred_at: row.occurred_at,
  };
}

export const pricing = z.record(
  z.enum(metrics),
  z.object({
    unit: z.string(),
    custom: z.boolean().describe("priced by the organization's own tiers rather than the catalog's"),
    tiers: z.array(z.object({ up_to: z.number().int().nullable(), price: credits })),
  }),
);

export function pricingView({ tiers, custom }: CreditPricing): z.output<typeof pricing> {
  const view = (metric: Metric) => ({
    unit: billingUnits[metric],
    custom: custom.includes(metric),
    tiers: tiers[metric].map((tier) => ({ up_to: tier.upTo, price: formatCredits(tier.microsPerUnit) })),
  });
  return {
    mau: view("mau"),
    storage: view("storage"),
    bandwidth: view("bandwidth"),
    build_minutes: view("build_minutes"),
  };
}
