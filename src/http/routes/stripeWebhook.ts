import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { AppError } from "../../domain/errors.js";
import { handleStripeEvent, stripeEventSchema } from "../../services/subscriptions/handleStripeEvent.js";
import { verifyWebhookSignature } from "../../stripe/webhookSignature.js";
import type { AppDeps } from "../deps.js";
import { errorResponses } from "../schemas.js";

export const stripeWebhookRoutes: FastifyPluginAsyncZod<{ deps: AppDeps }> = async (app, { deps }) => {
  // The signature covers the exact bytes Stripe sent, so this route reads its body unparsed.
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (_request, body, done) =>
    done(null, body),
  );

  app.post(
    "/v1/webhooks/stripe",
    {
      config: { auth: "public" },
      schema: {
        tags: ["webhooks"],
        summary: "Stripe's event deliveries, signed; each event id is applied once, forever",
        headers: z.object({ "stripe-signature": z.string().optional() }),
        response: { 200: z.object({ received: z.literal(true), duplicate: z.boolean() }), ...errorResponses },
      },
    },
    async (request) => {
      const payload = request.body;
      if (!Buffer.isBuffer(payload)) {
        throw new AppError("unsupported_media_type", "Stripe events are delivered as application/json");
      }
      const { webhookSecrets } = deps.stripe;
      if (webhookSecrets.length === 0) {
        throw new AppError("unavailable", "STRIPE_WEBHOOK_SECRET is not set: webhooks cannot be verified");
      }
      const check = verifyWebhookSignature({
        payload,
        header: request.headers["stripe-signature"],
        secrets: webhookSecrets,
        now: deps.clock.now(),
      });
      if (!check.ok) {
        request.log.warn({ reason: check.reason }, "refused a Stripe webhook");
        throw new AppError(
          "invalid_signature",
          `Stripe-Signature refused: ${check.reason.replaceAll("_", " ")}`,
        );
      }
      let json: unknown;
      try {
        json = JSON.parse(payload.toString("utf8"));
      } catch {
        throw new AppError("invalid_request", "body: not JSON");
      }
      const event = stripeEventSchema.safeParse(json);
      if (!event.success) {
        throw new AppError("invalid_request", `body: not a Stripe event (${event.error.issues[0]?.message})`);
      }
      const outcome = await handleStripeEvent({
        db: deps.db.kysely,
        stripe: deps.stripe.gateway,
        catalog: deps.config.catalog,
        event: event.data,
        supportEmail: deps.config.mail.supportEmail,
        now: deps.clock.now(),
        logger: request.log,
      });
      request.log.info({ event: event.data.id, type: event.data.type, outcome }, "stripe event");
      return { received: true as const, duplicate: outcome === "duplicate" };
    },
  );
};
