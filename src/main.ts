import { randomBytes } from "node:crypto";
import path from "node:path";
import type { StripeEmulator } from "@meterline/stripe-emulator";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { Config } from "./config.js";
import { type Db, openDatabase } from "./db/client.js";
import { migrate } from "./db/migrate.js";
import { type Clock, systemClock } from "./domain/clock.js";
import { freePort } from "./freePort.js";
import { createApp } from "./http/app.js";
import type { AppDeps } from "./http/deps.js";
import { createLogger } from "./logger.js";
import { type DemoCredentials, seedDemo } from "./services/accounts/seedDemo.js";
import { syncStripeCatalog } from "./services/subscriptions/syncStripeCatalog.js";
import { StripeGateway } from "./stripe/gateway.js";
import { startWorkers } from "./workers/startWorkers.js";

export interface Meterline {
  app: FastifyInstance;
  db: Db;
  url: string;
  /** The local Stripe emulator, when no Stripe key is configured. */
  stripeEmulator: StripeEmulator | null;
  demo: DemoCredentials | null;
  close(): Promise<void>;
}

/**
 * The composition root: builds the logger, database, clock and Stripe (the local emulator when
 * no Stripe key is set), applies migrations, seeds the demo on a first start outside production,
 * and serves the API.
 */
export async function startMeterline({
  config,
  logger = createLogger(config),
  clock = systemClock,
  host = "0.0.0.0",
}: {
  config: Config;
  logger?: Logger;
  clock?: Clock;
  host?: string;
}): Promise<Meterline> {
  const port = config.port === 0 ? await freePort() : config.port;
  const url = `http://localhost:${port}`;
  const db = await openDatabase(config.database, { command: "meterline start", url });
  let emulator: StripeEmulator | null = null;
  let app: FastifyInstance | null = null;
  let stopListening: (() => Promise<void>) | null = null;
  try {
    const applied = await migrate({ db });
    if (applied.length) logger.info({ migrations: applied.map((m) => `${m.version}_${m.name}`) }, "migrated");
    const demo =
      config.env === "production"
        ? null
        : await seedDemo({ db: db.kysely, trialDays: config.catalog.trial.days, now: clock.now() });

    let stripe: AppDeps["stripe"];
    if (config.stripe.secretKey) {
      stripe = {
        gateway: new StripeGateway({ secretKey: config.stripe.secretKey, apiUrl: config.stripe.apiUrl }),
        webhookSecrets: config.stripe.webhookSecrets,
      };
    } else {
      // Fresh secrets each start: only this process talks to its emulator.
      const secretKey = `sk_test_emulator_${randomBytes(12).toString("hex")}`;
      const webhookSecret = `whsec_${randomBytes(24).toString("hex")}`;
      // Loaded only here: the package runs from its TypeScript sources, which a production build
      // (plain Node, with a Stripe key) never loads.
      const { startStripeEmulator } = await import("@meterline/stripe-emulator");
      emulator = await startStripeEmulator({
        port: config.stripeEmulatorPort,
        // Its control routes pay any session: never reachable from outside this machine.
        host: "127.0.0.1",
        apiKey: secretKey,
        webhook: { url: `http://127.0.0.1:${port}/v1/webhooks/stripe`, secret: webhookSecret },
        clock,
        dataFile: path.join(config.dataDir, "stripe-emulator.json"),
        logger: logger.child({ component: "stripe-emulator" }),
      });
      stripe = {
        gateway: new StripeGateway({ secretKey, apiUrl: emulator.url }),
        webhookSecrets: [webhookSecret],
      };
    }

    const workers = await startWorkers({ db, config, clock, logger });
    stopListening = () => workers.stop();
    app = await createApp({ config, db, clock, logger, stripe, entitlements: workers.entitlements });
    await app.listen({ port, host });
    // Once listening, so the emulator's events about the new prices find the webhook.
    if (emulator) {
      await syncStripeCatalog({
        db: db.kysely,
        stripe: stripe.gateway,
        catalog: config.catalog,
        now: clock.now(),
      });
    }
    const running = emulator;
    const listening = app;
    const unlisten = stopListening;
    return {
      app: listening,
      db,
      url,
      stripeEmulator: running,
      demo,
      async close() {
        await listening.close();
        await unlisten();
        await running?.close();
        await db.close();
      },
    };
  } catch (error) {
    await app?.close();
    await stopListening?.();
    await emulator?.close();
    await db.close();
    throw error;
  }
}
