import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { ADVICE_MIN_SAVING_PERCENT } from "../../domain/advisor.js";
import { intervals } from "../../domain/catalog.js";
import { growingMetrics } from "../../domain/forecast.js";
import { adviceView, readAdvice } from "../../services/advisor/advisePlans.js";
import { orgAccess } from "../auth.js";
import type { AppDeps } from "../deps.js";
import { errorResponses, forecastMethod, orgParams, timestamp } from "../schemas.js";

const usd = z.string().describe('US dollars and cents, like "44.00"');
const cost = {
  plan: z.string(),
  name: z.string(),
  interval: z.enum(intervals),
  base_usd: usd.describe("the plan's price for a month: monthly, or the annual price ÷ 12"),
  overage_credits: z
    .string()
    .describe("credits the projected overage would take, at the organization's tiers"),
  total_usd: usd.describe("base_usd + overage_credits (1 credit = 1 USD)"),
};

const projection = z.object({ at_cycle_end: z.number(), method: forecastMethod });

export const advisorRoutes: FastifyPluginAsyncZod<{ deps: AppDeps }> = async (app, { deps }) => {
  app.get(
    "/v1/orgs/:org/advisor",
    {
      schema: {
        tags: ["usage"],
        summary:
          "What each plan, monthly and yearly, would cost for this cycle's projected usage, and which to choose",
        description:
          "Every plan is priced for the usage projected at the cycle's end (see each metric's `method`), " +
          "its overage at the organization's own credit tiers. `recommended` is the cheapest option, " +
          "unless the usage that costs overage is a spike (more than twice the highest of the previous " +
          "three cycles, or one day holding more than half of the cycle's use): credits then pay for it " +
          "on the current plan. Advice only: no plan ever changes without its owner. A weekly email " +
          `recommends another plan when it saves at least ${ADVICE_MIN_SAVING_PERCENT}%.`,
        params: orgParams,
        response: {
          200: z.object({
            cycle: z.object({ start: timestamp, end: timestamp }),
            projected: z
              .object({
                mau: projection,
                bandwidth: projection,
                storage: projection,
                build_minutes: projection,
              })
              .describe("each metric's use at the cycle's end, in the units of GET …/usage"),
            current: z
              .object({ ...cost, trial: z.boolean().describe("a trial: priced as its plan billed monthly") })
              .nullable()
              .describe("what the organization pays now; null without a plan"),
            options: z.array(z.object(cost)),
            recommended: z.object({
              plan: z.string(),
              name: z.string(),
              interval: z.enum(intervals),
              reason: z.string(),
              saving_percent: z.number().int().describe("how much less than `current` it costs"),
            }),
            spike: z
              .object({
                metric: z.enum(growingMetrics),
                kind: z.enum(["above_history", "one_day"]),
                day: z.iso.date().nullable().describe("one_day: the day holding most of the cycle's use"),
              })
              .nullable(),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      await orgAccess(request, deps, { orgId: request.params.org, permission: "billing:read" });
      const { outlook, advice } = await readAdvice({
        db: deps.db.kysely,
        catalog: deps.config.catalog,
        orgId: request.params.org,
        now: deps.clock.now(),
      });
      return adviceView({ outlook, advice, catalog: deps.config.catalog });
    },
  );
};
