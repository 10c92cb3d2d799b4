import { randomUUID } from "node:crypto";
import fastifyCookie from "@fastify/cookie";
import fastifySwagger from "@fastify/swagger";
import fastifySwaggerUi from "@fastify/swagger-ui";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
} from "fastify-type-provider-zod";
import { CSRF_HEADER, registerAuth, SESSION_COOKIE } from "./auth.js";
import type { AppDeps } from "./deps.js";
import { frameworkErrorHandler, registerErrorHandlers, registerJsonParser } from "./errors.js";
import { rateLimiters } from "./rateLimits.js";
import { advisorRoutes } from "./routes/advisor.js";
import { authRoutes } from "./routes/auth.js";
import { consoleRoutes } from "./routes/console.js";
import { creditRoutes } from "./routes/credits.js";
import { emailRoutes } from "./routes/emails.js";
import { entitlementRoutes } from "./routes/entitlements.js";
import { healthRoutes } from "./routes/health.js";
import { orgRoutes } from "./routes/orgs.js";
import { planRoutes } from "./routes/plans.js";
import { stripeWebhookRoutes } from "./routes/stripeWebhook.js";
import { subscriptionRoutes } from "./routes/subscriptions.js";
import { usageRoutes } from "./routes/usage.js";

export const BODY_LIMIT_BYTES = 1024 * 1024;

/** `req_` and 20 hex digits; randomUUID draws from a buffered entropy pool, randomBytes does not. */
function newRequestId(): string {
  return `req_${randomUUID().replaceAll("-", "").slice(0, 20)}`;
}

/** Builds the HTTP app from its dependencies; listening is the caller's business. */
export async function createApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    genReqId: newRequestId,
    logController: new LogController({ requestIdLogLabel: "request_id" }),
    bodyLimit: BODY_LIMIT_BYTES,
    frameworkErrors: frameworkErrorHandler,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandlers(app);
  registerJsonParser(app);
  app.addHook("onRequest", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });

  await app.register(fastifyCookie);
  await app.register(fastifySwagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Meterline API",
        version: "1",
        description:
          "Plans, usage metering, entitlements and prepaid credits. Errors are " +
          '`{"error":{"code","message","request_id"}}`; credit amounts are decimal strings.',
      },
      components: {
        securitySchemes: {
          session: {
            type: "apiKey",
            in: "cookie",
            name: SESSION_COOKIE,
            description: `Console session from /v1/auth/login; writes also need the ${CSRF_HEADER} header.`,
          },
          apiKey: { type: "http", scheme: "bearer", description: "Service API key (ml_…)" },
        },
      },
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(fastifySwaggerUi, { routePrefix: "/docs" });

  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
  await app.register(healthRoutes, { deps });
  await app.register(consoleRoutes);

  const limiters = rateLimiters();
  await app.register(async (api) => {
    await registerAuth(api, deps);
    await api.register(authRoutes, { deps, limiters });
    await api.register(orgRoutes, { deps });
    await api.register(usageRoutes, { deps, limiters });
    await api.register(advisorRoutes, { deps });
    await api.register(entitlementRoutes, { deps, limiters });
    await api.register(planRoutes, { deps });
    await api.register(creditRoutes, { deps, limiters });
    await api.register(emailRoutes, { deps });
    await api.register(subscriptionRoutes, { deps, limiters });
    await api.register(stripeWebhookRoutes, { deps });
  });

  return app;
}
