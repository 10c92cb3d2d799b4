import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { tiersFile } from "../../domain/catalog.js";
import { AppError } from "../../domain/errors.js";
import { formatCredits, parseCredits } from "../../domain/money.js";
import { plainText } from "../../domain/text.js";
import { type Metric, metrics } from "../../domain/usageEvents.js";
import { grantCredits, MAX_GRANT } from "../../services/credits/creditGrants.js";
import { setCreditPricing } from "../../services/credits/creditPricing.js";
import { keyAccess } from "../auth.js";
import { entry, entryView, pricing, pricingView } from "../creditSchemas.js";
import type { AppDeps } from "../deps.js";
import { errorResponses, orgParams, timestamp } from "../schemas.js";

// The platform's own routes, for platform keys holding `admin`: an organization's credits set by hand.

const amount = z
  .union([
    z.number().int().positive().max(100_000),
    z
      .string()
      .refine((text) => parseCredits(text) !== null, "must be a decimal string with at most 6 decimals")
      .refine(
        (text) => {
          const micros = parseCredits(text);
          return micros === null || (micros > 0n && micros <= MAX_GRANT);
        },
        `must be more than 0 and at most ${formatCredits(MAX_GRANT)} credits`,
      ),
  ])
  .transform((value) => parseCredits(String(value)) ?? 0n);

export const adminRoutes: FastifyPluginAsyncZod<{ deps: AppDeps }> = async (app, { deps }) => {
  const db = deps.db.kysely;
  const { catalog } = deps.config;

  app.put(
    "/v1/admin/orgs/:org/credits/pricing",
    {
      config: { auth: "key" },
      schema: {
        tags: ["credits"],
        summary:
          "Set an organization's own overage tiers (platform admin keys): metrics left out use the catalog's",
        params: orgParams,
        body: z.strictObject(
          Object.fromEntries(metrics.map((metric) => [metric, tiersFile.optional()])) as Record<
            Metric,
            z.ZodOptional<typeof tiersFile>
          >,
        ),
        response: { 200: pricing, ...errorResponses },
      },
    },
    async (request) => {
      keyAccess(request, { scope: "admin" });
      const pricingNow = await setCreditPricing({
        db,
        catalog,
        orgId: request.params.org,
        overrides: request.body,
      });
      return pricingView(pricingNow);
    },
  );

  app.post(
    "/v1/admin/orgs/:org/credits/grants",
    {
      config: { auth: "key" },
      schema: {
        tags: ["credits"],
        summary: "Grant credits by hand (platform admin keys); an Idempotency-Key header makes retries safe",
        params: orgParams,
        headers: z.object({ "idempotency-key": z.string().min(1).max(200).optional() }),
        body: z.strictObject({
          amount: amount.describe('credits: a whole number or a decimal string like "12.5"'),
          expires_at: timestamp.optional().describe("defaults to 12 months from now"),
          note: plainText({ max: 500 }),
        }),
        response: { 201: entry, 200: entry, ...errorResponses },
      },
    },
    async (request, reply) => {
      keyAccess(request, { scope: "admin" });
      const now = deps.clock.now();
      const expiresAt = request.body.expires_at;
      if (expiresAt && expiresAt <= now) {
        throw new AppError("invalid_request", "body.expires_at: must be in the future");
      }
      const { posted, entry: row } = await grantCredits({
        db,
        orgId: request.params.org,
        amount: request.body.amount,
        expiresAt,
        note: request.body.note,
        idempotencyKey: request.headers["idempotency-key"],
        now,
      });
      return reply.code(posted ? 201 : 200).send(entryView(row));
    },
  );
};
