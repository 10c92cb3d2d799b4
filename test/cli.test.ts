import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startStripeEmulator } from "@meterline/stripe-emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../src/db/client.js";
import { findApiKey } from "../src/services/accounts/apiKeys.js";
import { bin, runCli as run } from "./support/cli.js";
import { availableEngines, createTestDatabase, type Engine, type TestDatabase } from "./support/databases.js";

const engines = await availableEngines();

/** Starts `meterline start` and resolves once it prints where it listens. */
function start(
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, "start"], {
      env: { ...process.env, PORT: "0", LOG_LEVEL: "warn", ...env },
      stdio: "pipe",
    });
    let output = "";
    const timer = setTimeout(() => reject(new Error(`no start within 60 s:\n${output}`)), 60_000);
    child.stdout?.on("data", (chunk) => {
      output += chunk;
      const match = /Meterline is running at (http:\/\/\S+)/.exec(output);
      if (match?.[1] && output.includes("health:")) {
        clearTimeout(timer);
        // The demo block follows the banner in the same write.
        resolve({ child, url: match[1], output: () => output });
      }
    });
    child.stderr?.on("data", (chunk) => {
      output += chunk;
    });
    child.on("exit", (code) => reject(new Error(`exited with ${code} before listening:\n${output}`)));
  });
}

/** Polls until `probe` answers something, for up to 10 s. */
async function eventually<T>(probe: () => Promise<T | null>): Promise<T | null> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const answer = await probe();
    if (answer !== null) return answer;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return null;
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

interface Target {
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

async function makeTarget(engine: Engine): Promise<Target> {
  // The data folder also keeps the Stripe emulator's state, on either engine.
  const dir = mkdtempSync(path.join(tmpdir(), "meterline-cli-"));
  const removeDir = async () => rmSync(dir, { recursive: true, force: true });
  if (engine === "pglite") return { env: { DATA_DIR: dir }, cleanup: removeDir };
  // Left empty: the CLI migrates by itself, as it must for a new user.
  const database: TestDatabase = await createTestDatabase("postgres", { migrated: false });
  const url = database.config.engine === "postgres" ? database.config.url : "";
  return {
    env: { DATABASE_URL: url, DATA_DIR: dir },
    cleanup: async () => {
      await database.drop();
      await removeDir();
    },
  };
}

for (const engine of engines) {
  describe(`meterline CLI [${engine}]`, () => {
    let target: Target;

    beforeAll(async () => {
      target = await makeTarget(engine);
    });
    afterAll(() => target.cleanup());

    it("start on an empty database prints a working demo login; data survives a restart", async () => {
      const first = await start(target.env);
      const login = /login\s+(\S+) \/ (\S+)/.exec(first.output());
      const platformKey = /platform key\s+(ml_\S+)/.exec(first.output())?.[1];
      expect(login, first.output()).not.toBeNull();
      expect(platformKey).toBeDefined();
      const health = await fetch(`${first.url}/healthz`);
      expect(await health.json()).toMatchObject({ status: "ok", database: { engine, ok: true } });
      const signedIn = await fetch(`${first.url}/v1/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: login?.[1], password: login?.[2] }),
      });
      expect(signedIn.status).toBe(200);
      const cookie = signedIn.headers
        .getSetCookie()
        .map((c) => c.split(";")[0])
        .join("; ");
      const { csrf_token } = (await signedIn.json()) as { csrf_token: string };
      const created = await fetch(`${first.url}/v1/orgs`, {
        method: "POST",
        headers: { "content-type": "application/json", cookie, "x-csrf-token": csrf_token },
        body: JSON.stringify({ name: "Survives restarts" }),
      });
      expect(created.status).toBe(201);

      // The demo org subscribes on the emulator the start launched; the webhook makes it active.
      const orgId = /organization\s+(org_\S+)/.exec(first.output())?.[1];
      const emulatorUrl = /local emulator at (http:\/\/\S+)/.exec(first.output())?.[1];
      expect(emulatorUrl, first.output()).toBeDefined();
      const checkout = await fetch(`${first.url}/v1/orgs/${orgId}/checkout/subscription`, {
        method: "POST",
        headers: { "content-type": "application/json", cookie, "x-csrf-token": csrf_token },
        body: JSON.stringify({ plan: "maker", interval: "year" }),
      });
      expect(checkout.status).toBe(200);
      const { checkout_url, session_id } = (await checkout.json()) as {
        checkout_url: string;
        session_id: string;
      };
      expect(checkout_url.startsWith(`${emulatorUrl}/`)).toBe(true);
      expect(await (await fetch(checkout_url)).text()).toContain("374.40 USD");
      const paid = await fetch(`${emulatorUrl}/_emulator/checkout/sessions/${session_id}/pay`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ card: "4242424242424242" }),
      });
      expect(paid.status).toBe(200);
      const subscription = await eventually(async () => {
        const response = await fetch(`${first.url}/v1/orgs/${orgId}/subscription`, { headers: { cookie } });
        const body = (await response.json()) as {
          id: string;
          plan: string;
          interval: string;
          status: string;
        };
        return body.plan === "maker" ? body : null;
      });
      expect(subscription).toMatchObject({ plan: "maker", interval: "year", status: "active" });
      await stop(first.child);

      const second = await start(target.env);
      expect(second.output()).not.toContain("Demo data");
      const me = await fetch(`${second.url}/v1/me`, { headers: { cookie } });
      expect(me.status).toBe(200);
      const { orgs } = (await me.json()) as { orgs: { name: string }[] };
      const names = orgs.map((org) => org.name);
      expect(names).toEqual(["Demo Org", "Survives restarts"]);
      // The emulator kept its customers and subscriptions too: the org can still change plan.
      const changed = await fetch(`${second.url}/v1/orgs/${orgId}/subscription/change`, {
        method: "POST",
        headers: { "content-type": "application/json", cookie, "x-csrf-token": csrf_token },
        body: JSON.stringify({ plan: "team", interval: "year" }),
      });
      expect(changed.status, await changed.clone().text()).toBe(200);
      expect(await changed.json()).toMatchObject({ plan: "team", id: subscription?.id });
      await stop(second.child);
    }, 120_000);

    it("stripe sync makes the catalog's products and prices once, then changes nothing", async () => {
      const emulator = await startStripeEmulator({ port: 0, apiKey: "sk_test_cli", webhook: null });
      try {
        const env = { ...target.env, STRIPE_SECRET_KEY: "sk_test_cli", STRIPE_API_URL: emulator.url };
        const first = await run(["stripe", "sync"], env);
        expect(first.code, first.stderr).toBe(0);
        const lines = first.stdout.trim().split("\n");
        expect(lines).toHaveLength(9);
        expect(lines[8]).toMatch(/^portal\s+bpc_\S+\s+created$/);
        expect(
          lines.every((line) => line.endsWith("created")),
          first.stdout,
        ).toBe(true);
        expect(first.stdout).toMatch(/maker\s+year\s+374\.40 USD\s+price_\S+\s+created/);
        const second = await run(["stripe", "sync"], env);
        expect(second.code, second.stderr).toBe(0);
        expect(
          second.stdout
            .trim()
            .split("\n")
            .every((line) => line.endsWith("unchanged")),
        ).toBe(true);
        const prices = await fetch(`${emulator.url}/v1/prices?limit=100`, {
          headers: { authorization: "Bearer sk_test_cli" },
        }).then((response) => response.json() as Promise<{ data: unknown[] }>);
        expect(prices.data).toHaveLength(8);
      } finally {
        await emulator.close();
      }
      const noKey = await run(["stripe", "sync"], target.env);
      expect(noKey.code).toBe(2);
      expect(noKey.stderr).toContain("STRIPE_SECRET_KEY");
    }, 60_000);

    it("migrate reports an up-to-date database", async () => {
      const result = await run(["migrate"], target.env);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain("database is up to date");
    }, 60_000);

    it("keys create prints the key alone, and it is stored hashed with its scopes", async () => {
      const result = await run(
        ["keys", "create", "--platform", "--scopes", "usage:write,admin", "--name", "ops"],
        target.env,
      );
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/^ml_[A-Za-z0-9_-]{43}\n$/);
      const db = await openDatabase(
        engine === "postgres"
          ? { engine: "postgres", url: target.env.DATABASE_URL ?? "" }
          : { engine: "pglite", dataDir: path.join(target.env.DATA_DIR ?? "", "pglite") },
      );
      try {
        const key = await findApiKey({ db: db.kysely, key: result.stdout.trim() });
        expect(key).toMatchObject({ org_id: null, name: "ops", scopes: ["admin", "usage:write"] });
      } finally {
        await db.close();
      }
    }, 60_000);

    it("exits 2 on bad usage and 1 when the org does not exist", async () => {
      expect((await run(["keys", "create", "--scopes", "usage:write"], target.env)).code).toBe(2);
      expect((await run(["keys", "create", "--platform", "--scopes", "everything"], target.env)).code).toBe(
        2,
      );
      expect((await run(["frobnicate"], target.env)).code).toBe(2);
      expect(
        (await run(["keys", "create", "--platform", "--scopes", "admin", "--name", " "], target.env)).code,
      ).toBe(2);
      // A name that would display as something else, as the API refuses it.
      const spoofed = await run(
        ["keys", "create", "--platform", "--scopes", "admin", "--name", "ops\u202etxt.exe"],
        target.env,
      );
      expect(spoofed.code).toBe(2);
      expect(spoofed.stderr).toContain("--name");
      const missing = await run(
        ["keys", "create", "--org", "org_missing", "--scopes", "usage:write"],
        target.env,
      );
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain("org_missing");
      expect(missing.stdout).toBe("");
    }, 60_000);
  });
}

describe("meterline stripe-emulator", () => {
  it("serves Stripe's API with the key it prints, until stopped", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "meterline-emulator-"));
    const child = spawn(process.execPath, [bin, "stripe-emulator"], {
      env: { ...process.env, DATA_DIR: dir, STRIPE_EMULATOR_PORT: "0", LOG_LEVEL: "warn" },
      stdio: "pipe",
    });
    try {
      let output = "";
      const printed = await new Promise<RegExpExecArray>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no banner within 30 s:\n${output}`)), 30_000);
        child.stdout.on("data", (chunk) => {
          output += chunk;
          const match = /STRIPE_SECRET_KEY=(\S+) STRIPE_WEBHOOK_SECRET=\S+ STRIPE_API_URL=(\S+)/.exec(output);
          if (match) {
            clearTimeout(timer);
            resolve(match);
          }
        });
      });
      const [, key, url] = printed;
      const customers = await fetch(`${url}/v1/customers`, { headers: { authorization: `Bearer ${key}` } });
      expect(customers.status).toBe(200);
      expect(await customers.json()).toMatchObject({ object: "list", data: [] });
      const wrongKey = await fetch(`${url}/v1/customers`, {
        headers: { authorization: "Bearer sk_test_wrong" },
      });
      expect(wrongKey.status).toBe(401);
    } finally {
      await stop(child);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("meterline start in production", () => {
  it("refuses to start without Stripe keys: the emulator is for development", async () => {
    const result = await run(["start"], { NODE_ENV: "production", PORT: "0" });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("STRIPE_SECRET_KEY");
  }, 60_000);

  it("creates no demo data", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "meterline-prod-"));
    try {
      const server = await start({
        DATA_DIR: dir,
        NODE_ENV: "production",
        PUBLIC_URL: "https://billing.example.com",
        STRIPE_SECRET_KEY: "sk_test_unused",
        STRIPE_WEBHOOK_SECRET: "whsec_unused",
      });
      expect(server.output()).toContain("Stripe: api.stripe.com");
      expect(server.output()).not.toContain("Demo data");
      await stop(server.child);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
