import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { AppDeps } from "../deps.js";

const health = z.object({
  status: z.enum(["ok", "degraded"]),
  database: z.object({
    engine: z.enum(["pglite", "postgres"]),
    ok: z.boolean(),
    latency_ms: z.number().nullable(),
    error: z.string().optional(),
  }),
});

export const healthRoutes: FastifyPluginAsyncZod<{ deps: AppDeps }> = async (app, { deps }) => {
  app.get(
    "/healthz",
    {
      schema: {
        tags: ["health"],
        summary: "Liveness and database status; 503 when the database does not answer",
        response: { 200: health, 503: health },
      },
    },
    async (request, reply) => {
      const started = performance.now();
      try {
        await deps.db.ping();
        const latency = Math.round((performance.now() - started) * 100) / 100;
        return { status: "ok" as const, database: { engine: deps.db.engine, ok: true, latency_ms: latency } };
      } catch (error) {
        request.log.warn({ err: error }, "database ping failed");
        return reply.code(503).send({
          status: "degraded",
          database: { engine: deps.db.engine, ok: false, latency_ms: null, error: "database unreachable" },
        });
      }
    },
  );
};
