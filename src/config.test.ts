import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.js";

describe("loadConfig", () => {
  it("defaults to PGlite under ./.meterline, port 8080 and the emulator on the next port", () => {
    const config = loadConfig({});
    expect(config.database).toEqual({ engine: "pglite", dataDir: path.resolve(".meterline", "pglite") });
    expect(config.port).toBe(8080);
    expect(config.stripeEmulatorPort).toBe(8081);
    expect(config.publicUrl).toBe("http://localhost:8080");
  });

  it("switches to PostgreSQL with DATABASE_URL and reads the other variables", () => {
    const config = loadConfig({
      DATABASE_URL: "postgres://u@db:5432/meterline",
      PORT: "9000",
      STRIPE_EMULATOR_PORT: "9100",
      PUBLIC_URL: "https://billing.example.com/",
      SMTP_URL: "smtp://mail:25",
      LOG_LEVEL: "debug",
    });
    expect(config.database).toEqual({ engine: "postgres", url: "postgres://u@db:5432/meterline" });
    expect(config.port).toBe(9000);
    expect(config.stripeEmulatorPort).toBe(9100);
    expect(config.publicUrl).toBe("https://billing.example.com");
    expect(config.mail.smtpUrl).toBe("smtp://mail:25");
    expect(config.logLevel).toBe("debug");
  });

  it("treats empty variables as unset", () => {
    const config = loadConfig({ DATABASE_URL: "", SMTP_URL: " ", PORT: "" });
    expect(config.database.engine).toBe("pglite");
    expect(config.port).toBe(8080);
  });

  it.each([
    [{ PORT: "eighty" }, "PORT"],
    [{ DATABASE_URL: "mysql://x" }, "DATABASE_URL"],
    [{ LOG_LEVEL: "loud" }, "LOG_LEVEL"],
    [{ SUPPORT_EMAIL: "nobody" }, "SUPPORT_EMAIL"],
    [{ PORT: "65535" }, "STRIPE_EMULATOR_PORT"],
    [{ STRIPE_API_URL: "localhost" }, "STRIPE_API_URL"],
    [{ CATALOG_FILE: "/nonexistent/catalog.json" }, "CATALOG_FILE"],
    [{ NODE_ENV: "production" }, "STRIPE_SECRET_KEY"],
    [{ NODE_ENV: "production", STRIPE_SECRET_KEY: "sk_live_x" }, "STRIPE_WEBHOOK_SECRET"],
    [{ TRUST_PROXY: "proxy.internal" }, "TRUST_PROXY"],
    [{ TRUST_PROXY: "10.0.0.0/33" }, "TRUST_PROXY"],
    [{ TRUST_PROXY: "10.0.0.1, 10.0.0.2/8/8" }, "TRUST_PROXY"],
    [{ MAX_CONNECTIONS: "0" }, "MAX_CONNECTIONS"],
    [{ MAX_CONNECTIONS: "many" }, "MAX_CONNECTIONS"],
  ])("names the bad variable in %o", (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(name);
  });

  describe("in production", () => {
    const stripe = {
      NODE_ENV: "production",
      STRIPE_SECRET_KEY: "sk_live_x",
      STRIPE_WEBHOOK_SECRET: "whsec_x",
    };

    it.each([
      ["without PUBLIC_URL", {}],
      ["with an http:// PUBLIC_URL", { PUBLIC_URL: "http://billing.example.com" }],
      ["with PUBLIC_URL of another scheme", { PUBLIC_URL: "ftp://billing.example.com" }],
    ])("refuses to start %s, naming PUBLIC_URL and https", (_label, env) => {
      expect(() => loadConfig({ ...stripe, ...env })).toThrow(ConfigError);
      expect(() => loadConfig({ ...stripe, ...env })).toThrow(/PUBLIC_URL: production needs the https:\/\//);
    });

    it("starts with an https:// PUBLIC_URL, so session cookies are Secure", () => {
      const config = loadConfig({ ...stripe, PUBLIC_URL: "https://billing.example.com/" });
      expect(config.env).toBe("production");
      expect(config.publicUrl).toBe("https://billing.example.com");
    });

    it("leaves development on http://localhost", () => {
      expect(loadConfig({ NODE_ENV: "development" }).publicUrl).toBe("http://localhost:8080");
    });
  });

  it("trusts no proxy unless told, and reads TRUST_PROXY's addresses and blocks", () => {
    expect(loadConfig({}).trustProxy).toEqual([]);
    expect(loadConfig({ TRUST_PROXY: " 10.0.0.7, 10.1.0.0/16,::1 , fd00::/8" }).trustProxy).toEqual([
      "10.0.0.7",
      "10.1.0.0/16",
      "::1",
      "fd00::/8",
    ]);
  });

  it("caps connections at 1,000 unless MAX_CONNECTIONS says otherwise", () => {
    expect(loadConfig({}).maxConnections).toBe(1_000);
    expect(loadConfig({ MAX_CONNECTIONS: "5000" }).maxConnections).toBe(5_000);
  });

  it("lets PORT=0 leave the emulator's port to the system too", () => {
    expect(loadConfig({ PORT: "0" }).stripeEmulatorPort).toBe(0);
  });

  it("reads Stripe settings, several webhook secrets for rotation", () => {
    const config = loadConfig({
      STRIPE_SECRET_KEY: "sk_live_x",
      STRIPE_WEBHOOK_SECRET: "whsec_old, whsec_new",
      STRIPE_API_URL: "http://localhost:12111",
    });
    expect(config.stripe).toEqual({
      secretKey: "sk_live_x",
      webhookSecrets: ["whsec_old", "whsec_new"],
      apiUrl: "http://localhost:12111",
    });
  });

  describe("CATALOG_FILE", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "meterline-catalog-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const write = (name: string, content: string) => {
      const file = path.join(dir, name);
      writeFileSync(file, content);
      return file;
    };

    it("replaces the built-in catalog", () => {
      const file = write(
        "ok.json",
        JSON.stringify({
          currency: "eur",
          plans: [
            {
              id: "starter",
              name: "Starter",
              monthly_cents: 1_000,
              quotas: { mau: 100, storage_gib: 1, bandwidth_gib: 1, build_minutes: 10, concurrent_builds: 1 },
              features: ["Email support"],
            },
          ],
          trial: { days: 30, plan: "starter" },
        }),
      );
      const { catalog } = loadConfig({ CATALOG_FILE: file });
      expect(catalog.currency).toBe("eur");
      expect(catalog.plans.map((plan) => [plan.id, plan.annualCents])).toEqual([["starter", 9_600]]);
      expect(catalog.trial).toEqual({ days: 30, plan: "starter" });
    });

    it.each([
      { name: "not JSON", content: "{plans:", message: "cannot read" },
      { name: "a bad plan", content: JSON.stringify({ plans: [{ id: "X" }] }), message: "plans.0.id" },
    ])("stops the start on $name, naming the problem", ({ name, content, message }) => {
      const file = write(`${name}.json`, content);
      expect(() => loadConfig({ CATALOG_FILE: file })).toThrow(ConfigError);
      expect(() => loadConfig({ CATALOG_FILE: file })).toThrow(message);
    });
  });
});
