import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import pino from "pino";
import { expect, it } from "vitest";
import { createApp } from "../../src/http/app.js";
import { consoleDir, consolePages } from "../../src/http/routes/console.js";
import { describeEachEngine, signUp, type TestContext } from "../support/app.js";

const built = existsSync(path.join(consoleDir, "index.html"));

describeEachEngine("the console's files", (ctx) => {
  it.runIf(built || process.env.CI === "true")(
    "serves its page on each of its paths, never cached",
    async () => {
      for (const url of [...consolePages, "/plans?org=org_x&checkout=success&session_id=cs_1"]) {
        const response = await ctx.app.inject({ method: "GET", url });
        expect(response.statusCode, url).toBe(200);
        expect(response.headers["content-type"]).toContain("text/html");
        expect(response.headers["cache-control"]).toBe("no-cache");
        expect(response.body).toContain('<div id="root"></div>');
      }
    },
  );

  it.runIf(built || process.env.CI === "true")("serves its hashed assets to be cached for good", async () => {
    const asset = readdirSync(path.join(consoleDir, "assets")).find((name) => name.endsWith(".js"));
    const response = await ctx.app.inject({ method: "GET", url: `/assets/${asset}` });
    expect(response.statusCode).toBe(200);
    expect(response.headers["cache-control"]).toContain("immutable");
    expect((await ctx.app.inject({ method: "GET", url: "/assets/nothing.js" })).statusCode).toBe(404);
  });

  it("leaves the API's own answers alone", async () => {
    const response = await ctx.app.inject({ method: "GET", url: "/v1/nothing" });
    expect(response.statusCode).toBe(404);
    expect(response.json().error.code).toBe("not_found");
  });

  it("sends its pages with a policy that refuses framing and anything from elsewhere", async () => {
    for (const url of ["/plans", "/account", "/signin"]) {
      const headers = (await ctx.app.inject({ method: "GET", url })).headers;
      const policy = String(headers["content-security-policy"]);
      for (const directive of [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
      ]) {
        expect(policy, `${url}: ${directive}`).toContain(directive);
      }
      expect(policy).not.toContain("unsafe-inline");
      expect(headers["x-content-type-options"]).toBe("nosniff");
      expect(headers["x-frame-options"]).toBe("DENY");
      expect(headers["referrer-policy"]).toBe("same-origin");
      // Served over http here: no promise of https to keep.
      expect(headers["strict-transport-security"]).toBeUndefined();
    }
  });

  it("keeps the API's answers, errors included, from being sniffed or framed", async () => {
    const person = await signUp(ctx.app);
    for (const response of [
      await person.request("GET", "/v1/me"),
      await ctx.app.inject({ method: "GET", url: "/v1/me" }),
      await ctx.app.inject({ method: "GET", url: "/v1/nothing" }),
      await ctx.app.inject({ method: "GET", url: "/openapi.json" }),
    ]) {
      expect(response.headers["x-content-type-options"]).toBe("nosniff");
      expect(response.headers["x-frame-options"]).toBe("DENY");
      expect(String(response.headers["content-security-policy"])).toContain("frame-ancestors 'none'");
    }
  });

  it("gives the API reference the same policy, with the inline styles it draws with", async () => {
    const headers = (await ctx.app.inject({ method: "GET", url: "/docs/" })).headers;
    const policy = String(headers["content-security-policy"]);
    expect(policy).toContain("frame-ancestors 'none'");
    expect(policy).toContain("script-src 'self';");
    expect(policy).toContain("style-src 'self' 'unsafe-inline'");
    expect(headers["x-frame-options"]).toBe("DENY");
  });

  it("behind an https PUBLIC_URL, asks browsers to use https only, for a year", async () => {
    const app = await appAt(ctx, "https://billing.example.com");
    try {
      for (const url of ["/plans", "/v1/me", "/healthz"]) {
        const headers = (await app.inject({ method: "GET", url })).headers;
        expect(headers["strict-transport-security"], url).toBe("max-age=31536000");
        expect(String(headers["content-security-policy"])).toContain("upgrade-insecure-requests");
      }
    } finally {
      await app.close();
    }
  });
});

/** The suite's app as it would run at another public address. */
function appAt(ctx: TestContext, publicUrl: string) {
  return createApp({
    config: { ...ctx.config, publicUrl },
    db: ctx.db,
    clock: ctx.clock,
    logger: pino({ level: "silent" }),
    stripe: { gateway: ctx.stripe, webhookSecrets: [ctx.webhookSecret] },
    entitlements: ctx.entitlements,
  });
}
