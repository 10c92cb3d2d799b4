import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { MAX_BATCH, recordUsage } from "../../services/recordUsage.js";
import { keyAccess } from "../auth.js";
import type { AppDeps } from "../deps.js";
import { errorResponses } from "../schemas.js";

// Items are validated one by one in the service, so one bad event never sinks the batch.
const usageEvent = z
  .unknown()
  .describe(
    "{id, org_id, app_id, metric: mau|bandwidth|storage|build_minutes, timestamp (ISO 8601), " +
      "device_id (mau only), value (bytes or seconds; not for mau)} — each validated on its own",
  );

export const usageRoutes: FastifyPluginAsyncZod<{ deps: AppDeps }> = async (app, { deps }) => {
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
      return recordUsage({
        db: deps.db.kysely,
        keyOrgId: key.orgId,
        events: request.body.events,
        now: deps.clock.now(),
      });
    },
  );
};
