import { expect, it } from "vitest";
import { describeEachEngine, expectError } from "../support/app.js";

describeEachEngine("health, OpenAPI and docs", (ctx) => {
  it("/healthz reports the database engine and that it answers", async () => {
    const response = await ctx.app.inject({ method: "GET", url: "/healthz" });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ status: "ok", database: { engine: ctx.engine, ok: true } });
    expect(response.headers["x-request-id"]).toMatch(/^req_/);
  });

  it("/openapi.json is OpenAPI 3.1 generated from the route schemas, with security per route", async () => {
    const doc = (await ctx.app.inject({ method: "GET", url: "/openapi.json" })).json();
    expect(doc.openapi).toBe("3.1.0");
    const signup = doc.paths["/v1/auth/signup"].post;
    expect(signup.security).toEqual([]);
    const body = signup.requestBody.content["application/json"].schema;
    expect(body.required).toEqual(expect.arrayContaining(["email", "password", "name"]));
    expect(body.additionalProperties).toBe(false);
    expect(doc.paths["/v1/orgs/{org}"].get.security).toEqual([{ session: [] }]);
    expect(doc.paths["/v1/me"].get.responses["401"]).toBeDefined();
  });

  it("/docs serves the API reference page", async () => {
    const response = await ctx.app.inject({ method: "GET", url: "/docs/" });
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toContain("text/html");
    expect(response.body).toContain("swagger");
  });

  it("unknown routes and broken JSON get the uniform error body", async () => {
    const missing = expectError(
      await ctx.app.inject({ method: "GET", url: "/v1/nothing" }),
      404,
      "not_found",
    );
    expect(missing.request_id).toMatch(/^req_/);
    const broken = await ctx.app.inject({
      method: "POST",
      url: "/v1/auth/login",
      headers: { "content-type": "application/json" },
      payload: "{not json",
    });
    expectError(broken, 400, "invalid_request");
    const huge = await ctx.app.inject({
      method: "POST",
      url: "/v1/auth/login",
      headers: { "content-type": "application/json" },
      payload: JSON.stringify({ email: "a@b.co", password: "x".repeat(2 * 1024 * 1024) }),
    });
    expectError(huge, 413, "payload_too_large");
  });
});
