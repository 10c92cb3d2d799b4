import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { DailyPoint } from "../../db/usageAggregateRepo.js";
import { billingUnits } from "../../domain/catalog.js";
import { toNumber } from "../../domain/quantity.js";
import { GIB } from "../../domain/usage.js";
import { type Metric, metrics } from "../../domain/usageEvents.js";
import {
  readCycleDaily,
  readDailyUsage,
  readOutlook,
  summarizeUsage,
} from "../../services/usage/readUsage.js";
import { MAX_BATCH, recordUsage } from "../../services/usage/recordUsage.js";
import { keyAccess, orgAccess } from "../auth.js";
import type { AppDeps } from "../deps.js";
import { type RateLimiters, spend } from "../rateLimits.js";
import { entitlementView, errorResponses, forecastMethod, orgParams, timestamp } from "../schemas.js";

const metricUsage = z.object({
  unit: z.string().describe("MAU, GiB, GiB-month or minute"),
  used: z.number(),
  included: z.number(),
  percent: z.number().nullable().describe("used ÷ included × 100; null with nothing included"),
  overage: z.number(),
  overage_cost: z.string().describe("credits, a decimal string"),
  forecast: z.object({
    at_cycle_end: z.number().describe("projected use at the cycle's end, by `method`"),
    quota_reached_on: timestamp
      .nullable()
      .describe("when the projection reaches the quota, within this cycle"),
    method: forecastMethod,
    daily_rate: z.number().nullable().describe("units a day the projection adds; null for storage (held)"),
  }),
});

/** A UTC day of the Unix era: nothing Meterline counts is older, and PostgreSQL has no year 0000. */
const day = z.iso.date().refine((text) => text >= "1970-01-01", "must be 1970-01-01 or later");

const dailySeriesView = z.object({
  unit: z.string(),
  days: z.array(
    z.object({
      day: z.string(),
      value: z.number().describe("MAU: devices first seen that day; storage: GiB at the day's end"),
    }),
  ),
});

/** A metric's daily points in its unit: devices, GiB, GiB stored, minutes. */
function dailyView(metric: Metric, points: DailyPoint[]): z.output<typeof dailySeriesView> {
  const scale = metric === "bandwidth" || metric === "storage" ? GIB : metric === "build_minutes" ? 60n : 1n;
  return {
    unit: metric === "storage" ? "GiB" : billingUnits[metric],
    days: points.map((point) => ({
      day: point.day,
      value: toNumber({ numerator: point.value, denominator: scale }),
    })),
  };
}

// Items are validated one by one in the service, so one bad event never sinks the batch.
const usageEvent = z
  .unknown()
  .describe(
    "{id, org_id, app_id, metric: mau|bandwidth|storage|build_minutes, timestamp (ISO 8601), " +
      "device_id (mau only), value (bytes or seconds; not for mau)} — each validated on its own",
  );

export const usageRoutes: FastifyPluginAsyncZod<{ deps: AppDeps; limiters: RateLimiters }> = async (
  app,
  { deps, limiters },
) => {
  app.post(
    "/v1/usage/events",
    {
      config: { auth: "key" },
      schema: {
        tags: ["usage"],
        summary: "Report a batch of usage events (up to 1,000); each is accepted or rejected on its own",
        body: z.strictObject({ events: z.array(usageEvent).min(1).max(MAX_BATCH) }),
        response: {
          200: z.object({
            accepted: z.number().int(),
            duplicates: z.number().int(),
            rejected: z.array(z.object({ index: z.number().int(), code: z.string(), message: z.string() })),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const key = keyAccess(request, { scope: "usage:write" });
      spend({ limiter: limiters.usage, key: key.keyId, now: deps.clock.now() });
      return recordUsage({
        db: deps.db.kysely,
        keyOrgId: key.orgId,
        events: request.body.events,
        now: deps.clock.now(),
      });
    },
  );

  app.get(
    "/v1/orgs/:org/usage",
    {
      schema: {
        tags: ["usage"],
        summary: "This cycle's usage per metric: used, included, percent, overage and its cost, forecast",
        params: orgParams,
        querystring: z.strictObject({
          include: z
            .string()
            .regex(/^(daily|entitlements)(,(daily|entitlements))*$/, "is a comma list of daily, entitlements")
            .optional()
            .describe("daily: the cycle's series per metric; entitlements: each action's, as …/entitlements"),
        }),
        response: {
          200: z.object({
            cycle: z.object({ start: timestamp, end: timestamp }),
            plan: z.string().nullable(),
            metrics: z.object({
              mau: metricUsage,
              bandwidth: metricUsage,
              storage: metricUsage.extend({
                current_gib: z.number().describe("stored now: the upload gate"),
              }),
              build_minutes: metricUsage,
            }),
            daily: z.record(z.enum(metrics), dailySeriesView).optional(),
            entitlements: z.record(z.string(), entitlementView).optional(),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      await orgAccess(request, deps, { orgId: request.params.org, permission: "billing:read" });
      const orgId = request.params.org;
      const outlook = await readOutlook({
        db: deps.db.kysely,
        catalog: deps.config.catalog,
        orgId,
        now: deps.clock.now(),
      });
      const include = new Set(request.query.include?.split(","));
      const daily = include.has("daily")
        ? {
            ...outlook.daily,
            ...(await readCycleDaily({
              db: deps.db.kysely,
              orgId,
              cycle: outlook.report.cycle,
              of: ["storage"],
            })),
          }
        : null;
      return {
        ...summarizeUsage(outlook),
        ...(daily
          ? {
              daily: Object.fromEntries(
                metrics.map((metric) => [metric, dailyView(metric, daily[metric])]),
              ) as Record<Metric, z.output<typeof dailySeriesView>>,
            }
          : {}),
        ...(include.has("entitlements")
          ? { entitlements: (await deps.entitlements.get(orgId)).actions }
          : {}),
      };
    },
  );

  app.get(
    "/v1/orgs/:org/usage/daily",
    {
      schema: {
        tags: ["usage"],
        summary: "Usage per UTC day, for charts (defaults to the current cycle)",
        params: orgParams,
        querystring: z.strictObject({
          metric: z.enum(metrics).default("mau"),
          from: day.optional().describe("first day, YYYY-MM-DD"),
          to: day.optional().describe("day after the last, YYYY-MM-DD"),
        }),
        response: {
          200: dailySeriesView.extend({ metric: z.enum(metrics) }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      await orgAccess(request, deps, { orgId: request.params.org, permission: "billing:read" });
      const { metric } = request.query;
      const points = await readDailyUsage({
        db: deps.db.kysely,
        catalog: deps.config.catalog,
        orgId: request.params.org,
        metric,
        from: request.query.from,
        to: request.query.to,
        now: deps.clock.now(),
      });

      return { metric, ...dailyView(metric, points) };
    },
  );
};
