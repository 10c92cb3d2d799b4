import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { AppDeps } from "../deps.js";

const messages = {
  success: "Payment received. Stripe confirms it to Meterline within seconds: your plan is then active.",
  canceled: "Checkout canceled: nothing was charged and your plan is unchanged.",
} as const;

/**
 * Where Stripe Checkout and the billing portal send the customer back: a plain page saying what
 * happened, until the web console serves its Plans page here.
 */
export const checkoutReturnRoutes: FastifyPluginAsyncZod<{ deps: AppDeps }> = async (app) => {
  app.get(
    "/plans",
    {
      schema: {
        hide: true,
        querystring: z.object({
          org: z.string().max(100).optional(),
          checkout: z.enum(["success", "canceled"]).optional(),
          session_id: z.string().max(255).optional(),
        }),
      },
    },
    async (request, reply) => {
      const { org, checkout } = request.query;
      const text = checkout ? messages[checkout] : "Your billing settings were updated.";
      const subscription = org ? `/v1/orgs/${encodeURIComponent(org)}/subscription` : null;
      return reply.type("text/html; charset=utf-8").send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Meterline — Plans</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1f2328}
code{background:#f3f4f6;padding:.1rem .3rem;border-radius:4px}</style></head>
<body><h1>Meterline</h1><p>${escapeHtml(text)}</p>
${subscription ? `<p>The organization's plan: <code>GET ${escapeHtml(subscription)}</code></p>` : ""}
<p><a href="/docs">API reference</a></p></body></html>`);
    },
  );
};

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
