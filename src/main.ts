import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { Config } from "./config.js";
import { type Db, openDatabase } from "./db/client.js";
import { migrate } from "./db/migrate.js";
import { type Clock, systemClock } from "./domain/clock.js";
import { createApp } from "./http/app.js";
import { createLogger } from "./logger.js";
import { type DemoCredentials, seedDemo } from "./services/seedDemo.js";

export interface Meterline {
  app: FastifyInstance;
  db: Db;
  url: string;
  demo: DemoCredentials | null;
  close(): Promise<void>;
}

/**
 * The composition root: builds the logger, database and clock, applies migrations, seeds the
 * demo on a first start outside production, and serves the API.
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
  const db = await openDatabase(config.database);
  try {
    const applied = await migrate({ db });
    if (applied.length) logger.info({ migrations: applied.map((m) => `${m.version}_${m.name}`) }, "migrated");
    const demo = config.env === "production" ? null : await seedDemo({ db: db.kysely, now: clock.now() });
    const app = await createApp({ config, db, clock, logger });
    await app.listen({ port: config.port, host });
    const address = app.server.address();
    const port = typeof address === "object" && address ? address.port : config.port;
    return {
      app,
      db,
      url: `http://localhost:${port}`,
      demo,
      async close() {
        await app.close();
        await db.close();
      },
    };
  } catch (error) {
    await db.close();
    throw error;
  }
}
