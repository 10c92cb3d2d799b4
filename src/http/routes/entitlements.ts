import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { actions } from "../../domain/entitlements.js";
import { issuedId } from "../../domain/text.js";
import { keyAccess, orgAccess } from "../auth.js";
import type { AppDeps } from "../deps.js";
import { type RateLimiters, spend } from "../rateLimits.js";
import { entitlementView, errorResponses, orgParams, timestamp } from "../schemas.js";

export const entitlementRoutes: FastifyPluginAsyncZod<{ deps: AppDeps; limiters: RateLimiters }> = async (
  app,
  { deps, limiters },
) => {
  app.post(
    "/v1/check",
    {
      config: { auth: "key" },
      // The hot path: a line per check would cost more than the check. Failures still log.
      logLevel: "warn",
      schema: {
        tags: ["entitlements"],
        summary: "May this organization do this now? Answered from memory, right within a second",
        body: z.strictObject({ org_id: issuedId, action: z.enum(actions) }),
        response: { 200: entitlementView, ...errorResponses },
      },
    },
    async (request) => {
      const key = keyAccess(request, { orgId: request.body.org_id, scope: "entitlements:read" });
      spend({ limiter: limiters.check, key: key.keyId, now: deps.clock.now() });
      return deps.entitlements.check(request.body.org_id, request.body.action);
    },
  );

  app.get(
    "/v1/orgs/:org/entitlements",
    {
      schema: {
        tags: ["entitlements"],
        summary: "Every action's entitlement for the organization, with the reason and fix when denied",
        params: orgParams,
        response: {
          200: z.object({
            plan: z.string().nullable(),
            actions: z.object({
              serve_update: entitlementView,
              upload_bundle: entitlementView,
              build: entitlementView,
            }),
            computed_at: timestamp,
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      await orgAccess(request, deps, { orgId: request.params.org, permission: "billing:read" });
      const value = await deps.entitlements.get(request.params.org);
      return { plan: value.report.standing.plan, actions: value.actions, computed_at: value.computedAt };
    },
  );
};
