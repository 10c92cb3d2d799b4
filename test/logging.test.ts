import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { systemClock } from "../src/domain/clock.js";
import { createApp } from "../src/http/app.js";
import { createLogger } from "../src/logger.js";
import { StripeGateway } from "../src/stripe/gateway.js";
import { EntitlementCache } from "../src/workers/entitlementCache.js";
import { createTestDatabase, type TestDatabase } from "./support/databases.js";

describe("request logging", () => {
  const lines: Record<string, unknown>[] = [];
  let database: TestDatabase;
  let app: Awaited<ReturnType<typeof createApp>>;

  beforeAll(async () => {
    database = await createTestDatabase("pglite");
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    const config = { ...loadConfig({ NODE_ENV: "test" }), database: database.config };
    app = await createApp({
      config,
      db: database.db,
      clock: systemClock,
      logger: createLogger({ logLevel: "info" }, sink),
      entitlements: new EntitlementCache({
        db: database.db.kysely,
        catalog: config.catalog,
        clock: systemClock,
      }),
      // No route here reaches Stripe.
      stripe: {
        gateway: new StripeGateway({ secretKey: "sk_test_unused", apiUrl: "http://127.0.0.1:9" }),
        webhookSecrets: [],
      },
    });
  });
  afterAll(async () => {
    await app.close();
    await database.drop();
  });

  it("puts the request id on every line about a request, in the header and in the error body", async () => {
    const response = await app.inject({
      method: "POST",
      url: "/v1/auth/login",
      payload: { email: "nobody@example.com", password: "secret-password" },
      headers: { authorization: "Bearer ml_secret", cookie: "meterline_session=secret-cookie" },
    });
    const id = response.headers["x-request-id"];
    expect(id).toMatch(/^req_[0-9a-f]{20}$/);
    expect(response.json().error.request_id).toBe(id);
    const about = lines.filter((line) => line.request_id === id);
    expect(about.map((line) => line.msg)).toEqual(["incoming request", "request completed"]);
    const text = JSON.stringify(lines);
    expect(text).not.toContain("secret-password");
    expect(text).not.toContain("ml_secret");
    expect(text).not.toContain("secret-cookie");
  });

  it("logs database errors without the query's parameters", () => {
    const logger = createLogger(
      { logLevel: "info" },
      new Writable({ write: (chunk, _e, done) => done(void lines.push(JSON.parse(String(chunk)))) }),
    );
    const error = Object.assign(new Error("duplicate key"), {
      code: "23505",
      query: "INSERT …",
      params: ["scrypt$secret-hash"],
    });
    logger.error({ err: error }, "insert failed");
    const logged = lines.at(-1) as { err: Record<string, unknown> };
    expect(logged.err).toMatchObject({ message: "duplicate key", code: "23505", query: "INSERT …" });
    expect(JSON.stringify(logged)).not.toContain("secret-hash");
  });
});
