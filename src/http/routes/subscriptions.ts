import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { findPlan, intervals, type Plan } from "../../domain/catalog.js";
import { AppError } from "../../domain/errors.js";
import type { PlanStanding } from "../../domain/subscriptions.js";
import { plainText } from "../../domain/text.js";
import { cancelSubscription, changeSubscription } from "../../services/subscriptions/changeSubscription.js";
import { openBillingPortal } from "../../services/subscriptions/openBillingPortal.js";
import { readPlanStanding } from "../../services/subscriptions/readPlanStanding.js";
import { requestCustomPlan } from "../../services/subscriptions/requestCustomPlan.js";
import { startSubscriptionCheckout } from "../../services/subscriptions/startSubscriptionCheckout.js";
import { orgAccess } from "../auth.js";
import type { AppDeps } from "../deps.js";
import { type RateLimiters, spendCheckout } from "../rateLimits.js";
import { errorResponses, noBody, orgParams, timestamp } from "../schemas.js";

const subscription = z.object({
  id: z.string().nullable().describe("Meterline's id of the subscription; it stays through plan changes"),
  stripe_subscription_id: z.string().nullable(),
  source: z.enum(["subscription", "trial", "none"]).describe("what the plan below comes from"),
  plan: z.string().nullable().describe("the plan id whose quotas apply now; null: none"),
  interval: z.enum(intervals).nullable(),
  status: z.string().describe("trialing, active, past_due, canceled, unpaid, … or none"),
  current_period_start: timestamp.nullable(),
  current_period_end: timestamp.nullable(),
  anchor_day: z
    .number()
    .int()
    .nullable()
    .describe("day of month (UTC) billing cycles start on; null: calendar months, without a subscription"),
  cancel_at_period_end: z.boolean(),
  trial_ends_at: timestamp,
  grace_ends_at: timestamp.nullable().describe("while past due: when service stops unless paid"),
});

function subscriptionView(standing: PlanStanding): z.output<typeof subscription> {
  return {
    id: standing.subscription?.id ?? null,
    stripe_subscription_id: standing.subscription?.stripeSubscriptionId ?? null,
    source: standing.source,
    plan: standing.plan,
    interval: standing.interval,
    status: standing.status,
    current_period_start: standing.currentPeriodStart,
    current_period_end: standing.currentPeriodEnd,
    anchor_day: standing.source === "subscription" ? (standing.subscription?.anchorDay ?? null) : null,
    cancel_at_period_end: standing.cancelAtPeriodEnd,
    trial_ends_at: standing.trialEndsAt,
    grace_ends_at: standing.graceEndsAt,
  };
}

export const subscriptionRoutes: FastifyPluginAsyncZod<{ deps: AppDeps; limiters: RateLimiters }> = async (
  app,
  { deps, limiters },
) => {
  const db = deps.db.kysely;
  const { catalog, publicUrl } = deps.config;
  const stripe = deps.stripe.gateway;
  const planChoice = z.strictObject({
    plan: z.enum(catalog.plans.map((plan) => plan.id) as [string, ...string[]]),
    interval: z.enum(intervals),
  });
  const planOf = (id: string): Plan => {
    const plan = findPlan(catalog, id);
    if (!plan) throw new AppError("invalid_request", `body.plan: unknown plan ${id}`);
    return plan;
  };
  const standingOf = async (orgId: string) =>
    subscriptionView((await readPlanStanding({ db, catalog, orgId, now: deps.clock.now() })).standing);

  app.get(
    "/v1/orgs/:org/subscription",
    {
      schema: {
        tags: ["subscriptions"],
        summary: "The organization's plan now: its subscription, its trial, or none",
        params: orgParams,
        response: { 200: subscription, ...errorResponses },
      },
    },
    async (request) => {
      await orgAccess(request, deps, { orgId: request.params.org, permission: "billing:read" });
      return standingOf(request.params.org);
    },
  );

  app.post(
    "/v1/orgs/:org/checkout/subscription",
    {
      schema: {
        tags: ["subscriptions"],
        summary: "Open a Stripe Checkout to subscribe to a plan (the price comes from the catalog)",
        params: orgParams,
        body: planChoice,
        response: { 200: z.object({ checkout_url: z.string(), session_id: z.string() }), ...errorResponses },
      },
    },
    async (request) => {
      const { user } = await orgAccess(request, deps, {
        orgId: request.params.org,
        permission: "billing:write",
      });
      spendCheckout({ limiters, orgId: request.params.org, now: deps.clock.now() });
      const { checkoutUrl, sessionId } = await startSubscriptionCheckout({
        db,
        stripe,
        catalog,
        publicUrl,
        orgId: request.params.org,
        userId: user.userId,
        plan: planOf(request.body.plan),
        interval: request.body.interval,
        now: deps.clock.now(),
        logger: request.log,
      });
      return { checkout_url: checkoutUrl, session_id: sessionId };
    },
  );

  app.post(
    "/v1/orgs/:org/subscription/change",
    {
      schema: {
        tags: ["subscriptions"],
        summary: "Move the subscription to another plan or interval, prorated; it keeps its id",
        params: orgParams,
        body: planChoice,
        response: { 200: subscription, ...errorResponses },
      },
    },
    async (request) => {
      await orgAccess(request, deps, { orgId: request.params.org, permission: "billing:write" });
      await changeSubscription({
        db,
        stripe,
        catalog,
        orgId: request.params.org,
        plan: planOf(request.body.plan),
        interval: request.body.interval,
        now: deps.clock.now(),
        logger: request.log,
      });
      return standingOf(request.params.org);
    },
  );

  app.post(
    "/v1/orgs/:org/subscription/cancel",
    {
      schema: {
        tags: ["subscriptions"],
        summary: "Cancel at the end of the paid period",
        params: orgParams,
        body: noBody,
        response: { 200: subscription, ...errorResponses },
      },
    },
    async (request) => {
      await orgAccess(request, deps, { orgId: request.params.org, permission: "billing:write" });
      await cancelSubscription({
        db,
        stripe,
        catalog,
        orgId: request.params.org,
        now: deps.clock.now(),
        logger: request.log,
      });
      return standingOf(request.params.org);
    },
  );

  app.post(
    "/v1/orgs/:org/billing-portal",
    {
      schema: {
        tags: ["subscriptions"],
        summary: "A link to Stripe's billing portal (payment method, invoices)",
        params: orgParams,
        body: noBody,
        response: { 200: z.object({ url: z.string() }), ...errorResponses },
      },
    },
    async (request) => {
      const { user } = await orgAccess(request, deps, {
        orgId: request.params.org,
        permission: "billing:write",
      });
      const orgId = request.params.org;
      return { url: await openBillingPortal({ db, stripe, publicUrl, orgId, userId: user.userId }) };
    },
  );

  app.post(
    "/v1/orgs/:org/contact-sales",
    {
      schema: {
        tags: ["subscriptions"],
        summary: "Ask for a custom plan; the request reaches the sales team",
        params: orgParams,
        body: z.strictObject({ message: plainText({ max: 5000, multiline: true }) }),
        response: {
          201: z.object({ id: z.string(), message: z.string(), created_at: timestamp }),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const { user } = await orgAccess(request, deps, {
        orgId: request.params.org,
        permission: "billing:read",
      });
      const row = await requestCustomPlan({
        db,
        orgId: request.params.org,
        userId: user.userId,
        message: request.body.message,
        supportEmail: deps.config.mail.supportEmail,
        now: deps.clock.now(),
      });
      return reply.code(201).send(row);
    },
  );
};
