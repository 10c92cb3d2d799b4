import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { expect, it } from "vitest";
import { consoleDir, consolePages } from "../../src/http/routes/console.js";
import { describeEachEngine } from "../support/app.js";

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
});
