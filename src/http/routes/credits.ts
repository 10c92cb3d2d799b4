import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { CREDIT_PRESETS, estimatePurchase, MAX_CREDITS, MIN_CREDITS } from "../../domain/creditPurchase.js";
import { AppError } from "../../domain/errors.js";
import { formatCredits, formatUsd } from "../../domain/money.js";
import { getOrg } from "../../services/accounts/orgDirectory.js";
import { fulfillCreditPurchase, startCreditCheckout } from "../../services/credits/buyCredits.js";
import { readCreditPricing } from "../../services/credits/creditPricing.js";
import { readCreditEntries, readCredits } from "../../services/credits/readCredits.js";
import { orgAccess } from "../auth.js";
import { creditLedgerCsv } from "../creditLedgerCsv.js";
import { credits, entry, entryView, pricing, pricingView } from "../creditSchemas.js";
import type { AppDeps } from "../deps.js";
import { type RateLimiters, spendCheckout } from "../rateLimits.js";
import { country, errorResponses, orgParams, timestamp } from "../schemas.js";

const page = z.strictObject({
  cursor: z
    .string()
    .regex(/^led_[0-9a-z]{26}$/, "is not a cursor from a previous page")
    .optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

export const creditRoutes: FastifyPluginAsyncZod<{ deps: AppDeps; limiters: RateLimiters }> = async (
  app,
  { deps, limiters },
) => {
  const db = deps.db.kysely;
  const { catalog } = deps.config;

  app.get(
    "/v1/orgs/:org/credits",
    {
      schema: {
        tags: ["credits"],
        summary: "Credit balance: available, total granted, used this cycle and its USD value, next expiry",
        params: orgParams,
        response: {
          200: z.object({
            available: credits,
            total: credits,
            used_this_cycle: credits,
            used_this_cycle_usd: z.string().describe("1 credit = 1 USD, in dollars and cents"),
            next_expiry: timestamp.nullable(),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      await orgAccess(request, deps, { orgId: request.params.org, permission: "billing:read" });
      const figures = await readCredits({ db, catalog, orgId: request.params.org, now: deps.clock.now() });
      const used = formatCredits(figures.usedSince);
      return {
        available: formatCredits(figures.available),
        total: formatCredits(figures.total),
        used_this_cycle: used,
        used_this_cycle_usd: formatUsd(figures.usedSince),
        next_expiry: figures.nextExpiry,
      };
    },
  );

  app.get(
    "/v1/orgs/:org/credits/pricing",
    {
      schema: {
        tags: ["credits"],
        summary: "What overage costs the organization in credits: graduated tiers per metric",
        params: orgParams,
        response: { 200: pricing, ...errorResponses },
      },
    },
    async (request) => {
      await orgAccess(request, deps, { orgId: request.params.org, permission: "billing:read" });
      return pricingView(await readCreditPricing({ db, catalog, orgId: request.params.org }));
    },
  );

  app.get(
    "/v1/orgs/:org/credits/transactions",
    {
      schema: {
        tags: ["credits"],
        summary: "The credit ledger, newest first, a page at a time",
        params: orgParams,
        querystring: page,
        response: {
          200: z.object({ items: z.array(entry), next_cursor: z.string().nullable() }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      await orgAccess(request, deps, { orgId: request.params.org, permission: "billing:read" });
      const { items, nextCursor } = await readCreditEntries({
        db,
        orgId: request.params.org,
        cursor: request.query.cursor ?? null,
        limit: request.query.limit,
      });
      return { items: items.map(entryView), next_cursor: nextCursor };
    },
  );

  app.get(
    "/v1/orgs/:org/credits/transactions.csv",
    {
      schema: {
        tags: ["credits"],
        summary: "The whole credit ledger as CSV, newest first",
        params: orgParams,
        response: { 200: z.string(), ...errorResponses },
      },
    },
    async (request, reply) => {
      await orgAccess(request, deps, { orgId: request.params.org, permission: "billing:read" });
      const csv = await creditLedgerCsv({ db, orgId: request.params.org });
      return reply
        .type("text/csv; charset=utf-8")
        .header("content-disposition", `attachment; filename="credits-${request.params.org}.csv"`)
        .send(csv);
    },
  );

  const wholeCredits = z.coerce
    .number()
    .int()
    .min(MIN_CREDITS)
    .max(MAX_CREDITS)
    .describe(
      `whole credits: ${CREDIT_PRESETS.join(", ")} or any amount from ${MIN_CREDITS} to ${MAX_CREDITS}`,
    );
  // A query string is text, read as a number; a JSON body's amount must be a number (not "7" or true).
  const wholeCreditsInBody = z
    .number()
    .int()
    .min(MIN_CREDITS)
    .max(MAX_CREDITS)
    .describe(wholeCredits.description ?? "");

  app.get(
    "/v1/orgs/:org/credits/estimate",
    {
      schema: {
        tags: ["credits"],
        summary: "What buying credits costs with tax, for the org's billing country unless another is given",
        params: orgParams,
        querystring: z.strictObject({ amount: wholeCredits.default(100), country: country.optional() }),
        response: {
          200: z.object({
            credits: z.number().int(),
            country: z.string().nullable(),
            tax_rate_percent: z.number(),
            subtotal_cents: z.number().int(),
            tax_cents: z.number().int(),
            total_cents: z.number().int(),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      await orgAccess(request, deps, { orgId: request.params.org, permission: "billing:read" });
      const org = await getOrg({ db, orgId: request.params.org });
      const estimate = estimatePurchase({
        credits: request.query.amount,
        country: request.query.country ?? org.country,
        taxRates: catalog.taxRates,
      });
      return {
        credits: estimate.credits,
        country: estimate.country,
        tax_rate_percent: estimate.taxRateBasisPoints / 100,
        subtotal_cents: Number(estimate.subtotalCents),
        tax_cents: Number(estimate.taxCents),
        total_cents: Number(estimate.totalCents),
      };
    },
  );

  app.post(
    "/v1/orgs/:org/checkout/credits",
    {
      schema: {
        tags: ["credits"],
        summary: "Open a Stripe Checkout to buy credits (the price comes from the server: 1 credit = 1 USD)",
        params: orgParams,
        body: z.strictObject({ amount: wholeCreditsInBody }),
        response: { 200: z.object({ checkout_url: z.string(), session_id: z.string() }), ...errorResponses },
      },
    },
    async (request) => {
      const { user } = await orgAccess(request, deps, {
        orgId: request.params.org,
        permission: "billing:write",
      });
      spendCheckout({ limiters, orgId: request.params.org, now: deps.clock.now() });
      const { checkoutUrl, sessionId } = await startCreditCheckout({
        db,
        stripe: deps.stripe.gateway,
        catalog,
        publicUrl: deps.config.publicUrl,
        orgId: request.params.org,
        userId: user.userId,
        credits: request.body.amount,
        now: deps.clock.now(),
      });
      return { checkout_url: checkoutUrl, session_id: sessionId };
    },
  );

  app.post(
    "/v1/orgs/:org/credits/complete",
    {
      schema: {
        tags: ["credits"],
        summary: "After Checkout: grant the credits bought (once per session, whatever the webhook did)",
        params: orgParams,
        body: z.strictObject({
          session_id: z.string().regex(/^cs_[A-Za-z0-9_]{1,200}$/, "is not a Checkout Session id"),
        }),
        response: {
          200: z.object({
            status: z.enum(["granted", "already_granted"]),
            credits,
            grant_id: z.string().nullable(),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      await orgAccess(request, deps, { orgId: request.params.org, permission: "billing:write" });
      const result = await fulfillCreditPurchase({
        db,
        stripe: deps.stripe.gateway,
        catalog,
        orgId: request.params.org,
        sessionId: request.body.session_id,
        supportEmail: deps.config.mail.supportEmail,
        now: deps.clock.now(),
        logger: request.log,
      });
      if (result.status === "pending") {
        throw new AppError(
          "payment_pending",
          "The payment is not confirmed yet; the credits come when it is",
        );
      }
      if (result.status === "needs_support") {
        throw new AppError(
          "payment_mismatch",
          `This payment needs support: Stripe says it was paid, but ${result.problem}, so no credits were granted. Support has been told and will refund it or grant the credits; write to ${deps.config.mail.supportEmail} with the session id if you have questions.`,
        );
      }
      return { status: result.status, credits: formatCredits(result.credits), grant_id: result.grantId };
    },
  );
};
