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
import {
  clientErrorHandler,
  frameworkErrorHandler,
  newRequestId,
  registerErrorHandlers,
  registerJsonParser,
} from "./errors.js";
import { rateLimiters } from "./rateLimits.js";
import { adminRoutes } from "./routes/admin.js";
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
import { docsPolicy, securityHeaders } from "./securityHeaders.js";

export const BODY_LIMIT_BYTES = 1024 * 1024;

/**
 * A request's headers must arrive within 10 s and the whole request, body included, within 20 s;
 * Node checks every second, so a client trickling bytes is cut within 21 s and cannot hold its
 * connection, and the body buffered so far, for longer. A 1 MiB batch needs 52 kB/s to arrive.
 * Only Node's `requestTimeout` bounds a body: the socket's idle timeout is reset by every byte,
 * and Fastify sets `requestTimeout` to 0 (none) unless told. Node checks both every 30 s unless
 * told (`connectionsCheckingInterval`).
 */
export const HEADERS_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS = 20_000;
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;

/** Builds the HTTP app from its dependencies; listening is the caller's business. */
export async function createApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    genReqId: newRequestId,
    logController: new LogController({ requestIdLogLabel: "request_id" }),
    bodyLimit: BODY_LIMIT_BYTES,
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
    requestTimeout: REQUEST_TIMEOUT_MS,
    http: { headersTimeout: HEADERS_TIMEOUT_MS, connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS },
    // Empty: no proxy is trusted, and request.ip is the socket's peer whatever X-Forwarded-For says.
    trustProxy: deps.config.trustProxy.length > 0 ? deps.config.trustProxy : false,
  });
  // Connections past the cap are closed as they arrive, never queued.
  app.server.maxConnections = deps.config.maxConnections;
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandlers(app);
  registerJsonParser(app);
  const https = deps.config.publicUrl.startsWith("https://");
  const headers = securityHeaders({ https });
  app.addHook("onRequest", async (request, reply) => {
    reply.header("x-request-id", request.id).headers(headers);
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
  await app.register(fastifySwaggerUi, {
    routePrefix: "/docs",
    transformStaticCSP: () => docsPolicy({ https }),
  });

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
    await api.register(adminRoutes, { deps });
    await api.register(emailRoutes, { deps });
    await api.register(subscriptionRoutes, { deps, limiters });
    await api.register(stripeWebhookRoutes, { deps });
  });

  return app;
}
