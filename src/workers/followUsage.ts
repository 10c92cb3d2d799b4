import type { Logger } from "pino";
import type { Db } from "../db/client.js";
import { listenForOrgChanges } from "../db/notifications.js";
import type { Catalog } from "../domain/catalog.js";
import type { Clock } from "../domain/clock.js";
import { consumeOverage } from "../services/credits/consumeOverage.js";
import { queueUsageAlerts } from "../services/emails/usageAlerts.js";
import { OrgJobRunner } from "./orgJobRunner.js";

/** Overage is charged "within seconds" of the usage: at most every half second per organization. */
const OVERAGE_INTERVAL_MS = 500;
/** Quota emails need not be as quick: at most every second per organization. */
const ALERTS_INTERVAL_MS = 1_000;

/**
 * What follows every change any process announces for an organization (usage, credits, plans):
 * its overage charged to credits, and its quota emails queued.
 */
export async function startUsageFollowers({
  db,
  catalog,
  clock,
  logger,
}: {
  db: Db;
  catalog: Catalog;
  clock: Clock;
  logger?: Pick<Logger, "error"> | undefined;
}): Promise<{ overage: OrgJobRunner; alerts: OrgJobRunner; stop: () => Promise<void> }> {
  const overage = new OrgJobRunner({
    job: (orgId) => consumeOverage({ db: db.kysely, catalog, orgId, now: clock.now() }),
    minIntervalMs: OVERAGE_INTERVAL_MS,
    logger,
    failure: "charging overage failed; retried on the next change",
  });
  const known = new Set<string>();
  const alerts = new OrgJobRunner({
    job: (orgId) => queueUsageAlerts({ db: db.kysely, catalog, orgId, now: clock.now(), known }),
    minIntervalMs: ALERTS_INTERVAL_MS,
    logger,
    failure: "checking quota emails failed; retried on the next change",
  });
  const unlisten = await listenForOrgChanges(db, (orgId) => {
    overage.schedule(orgId);
    alerts.schedule(orgId);
  });
  return {
    overage,
    alerts,
    stop: async () => {
      overage.close();
      alerts.close();
      await unlisten();
      await Promise.all([overage.idle(), alerts.idle()]);
    },
  };
}
