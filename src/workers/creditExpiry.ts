import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Schema } from "../db/schema.js";
import { expireCredits, warnExpiringCredits } from "../services/credits/expireCredits.js";

const EVERY_MS = 10 * 60_000;

/**
 * Expires credits and warns of those expiring soon, at start and every ten minutes in the server;
 * any process may: both are idempotent.
 */
export function startCreditExpiry({
  db,
  clock,
  logger,
}: {
  db: Kysely<Schema>;
  clock: { now(): Date };
  logger?: Pick<Logger, "error" | "info"> | undefined;
}): { stop: () => void } {
  const run = async () => {
    try {
      const now = clock.now();
      const { expired } = await expireCredits({ db, now });
      const warned = await warnExpiringCredits({ db, now });
      if (expired || warned) logger?.info({ expired, warned }, "credits expired; expiry warnings queued");
    } catch (error) {
      logger?.error({ err: error }, "expiring credits failed; next run in ten minutes");
    }
  };
  void run();
  const timer = setInterval(run, EVERY_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
