import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { annualTerms, billingUnits } from "../../domain/catalog.js";
import { formatCredits } from "../../domain/money.js";
import { metrics } from "../../domain/usageEvents.js";
import type { AppDeps } from "../deps.js";

const tier = z.object({
  up_to: z.number().int().nullable().describe("upper bound of the overage slice, in units; null: no bound"),
  price: z.string().describe("credits per unit, a decimal string"),
});

const plansResponse = z.object({
  currency: z.string(),
  plans: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      monthly: z.object({ price_cents: z.number().int() }),
      annual: z.object({
        price_cents: z.number().int(),
        monthly_equivalent_cents: z.number().int(),
        discount_percent: z.number().int(),
      }),
      quotas: z.object({
        mau: z.number().int(),
        storage_gib: z.number().int(),
        bandwidth_gib: z.number().int(),
        build_minutes: z.number().int(),
        concurrent_builds: z.number().int(),
      }),
      features: z.array(z.string()),
    }),
  ),
  credit_tiers: z.record(z.enum(metrics), z.object({ unit: z.string(), tiers: z.array(tier) })),
  trial: z.object({ days: z.number().int(), plan: z.string() }),
  past_due_grace_days: z.number().int(),
});

export const planRoutes: FastifyPluginAsyncZod<{ deps: AppDeps }> = async (app, { deps }) => {
  const { catalog } = deps.config;
  // The catalog is fixed for the life of the process: the answer is built once.
  const body: z.input<typeof plansResponse> = {
    currency: catalog.currency,
    plans: catalog.plans.map((plan) => {
      const terms = annualTerms(plan);
      return {
        id: plan.id,
        name: plan.name,
        monthly: { price_cents: plan.monthlyCents },
        annual: {
          price_cents: plan.annualCents,
          monthly_equivalent_cents: terms.monthlyEquivalentCents,
          discount_percent: terms.discountPercent,
        },
        quotas: plan.quotas,
        features: plan.features,
      };
    }),
    credit_tiers: Object.fromEntries(
      metrics.map((metric) => [
        metric,
        {
          unit: billingUnits[metric],
          tiers: catalog.creditTiers[metric].map((slice) => ({
            up_to: slice.upTo,
            price: formatCredits(slice.microsPerUnit),
          })),
        },
      ]),
    ) as z.input<typeof plansResponse>["credit_tiers"],
    trial: catalog.trial,
    past_due_grace_days: catalog.pastDueGraceDays,
  };

  app.get(
    "/v1/plans",
    {
      config: { auth: "public" },
      schema: {
        tags: ["plans"],
        summary: "The plan catalog: prices for both intervals, quotas, features and credit tiers",
        response: { 200: plansResponse },
      },
    },
    async () => body,
  );
};
