import path from "node:path";
import { describe, expect, it } from "vitest";
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
  ])("names the bad variable in %o", (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(name);
  });
});
