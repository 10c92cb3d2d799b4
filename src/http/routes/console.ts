import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import fastifyStatic from "@fastify/static";
import type { FastifyPluginAsync } from "fastify";

/** Where `npm run build:console` (run by `npm install`) puts the web console. */
export const consoleDir = path.resolve(import.meta.dirname, "../../../console/dist");

/** The console's pages: each answers its single-page app, which reads the path. */
export const consolePages = [
  "/",
  "/signin",
  "/signup",
  "/plans",
  "/credits",
  "/usage",
  "/account",
  "/refund-policy",
  "/confirm-billing-email",
];

const notBuilt = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Meterline</title></head>
<body style="font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem">
<h1>Meterline</h1><p>The web console is not built: run <code>npm run build:console</code> and reload.
The API works meanwhile: <a href="/docs">API reference</a>.</p></body></html>`;

/**
 * Serves the web console: its hashed assets for a year, and its page (never cached, so a new
 * build shows at once) on each of its paths, including where Stripe Checkout sends people back.
 */
export const consoleRoutes: FastifyPluginAsync = async (app) => {
  const indexFile = path.join(consoleDir, "index.html");
  await app.register(fastifyStatic, {
    root: path.join(consoleDir, "assets"),
    prefix: "/assets/",
    maxAge: "365d",
    immutable: true,
    index: false,
  });
  for (const url of consolePages) {
    // Read each time (it is small): a rebuild while the server runs shows at the next load.
    app.get(url, { schema: { hide: true } }, async (_request, reply) => {
      const page = existsSync(indexFile) ? readFileSync(indexFile, "utf8") : notBuilt;
      return reply.header("cache-control", "no-cache").type("text/html; charset=utf-8").send(page);
    });
  }
};
