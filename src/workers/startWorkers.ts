import type { Logger } from "pino";
import type { Config } from "../config.js";
import type { Db } from "../db/client.js";
import type { Clock } from "../domain/clock.js";
import { mailboxTransport, smtpTransport } from "../mail/transport.js";
import { startCreditExpiry } from "./creditExpiry.js";
import { defaultDispatchSettings, type EmailDispatcher, startEmailDispatcher } from "./emailDispatcher.js";
import { type EntitlementCache, startEntitlementCache } from "./entitlementCache.js";
import { startUsageFollowers } from "./followUsage.js";
import type { OrgJobRunner } from "./orgJobRunner.js";
import { startPlanAdvice } from "./planAdviceEmails.js";

export interface Workers {
  entitlements: EntitlementCache;
  /** Charges overage to credits as usage and credits change. */
  overage: OrgJobRunner;
  /** Queues quota emails as usage changes. */
  alerts: OrgJobRunner;
  emails: EmailDispatcher;
  stop(): Promise<void>;
}

/**
 * What runs beside the API in every server process: the entitlement cache, overage charging
 * and quota emails following every change, credit expiry, the weekly plan advice, and the email
 * dispatcher (SMTP with `SMTP_URL`, else the local mailbox). Each is safe with any number of processes.
 */
export async function startWorkers({
  db,
  config,
  clock,
  logger,
  creditExpiry = true,
  planAdvice = true,
}: {
  db: Db;
  config: Config;
  clock: Clock;
  logger?: Logger | undefined;
  /** Tests expire credits by hand, at the times they choose. */
  creditExpiry?: boolean;
  /** Tests queue the weekly plan advice by hand, too. */
  planAdvice?: boolean;
}): Promise<Workers> {
  const entitlements = await startEntitlementCache({ db, catalog: config.catalog, clock });
  const followers = await startUsageFollowers({ db, catalog: config.catalog, clock, logger });
  const expiry = creditExpiry ? startCreditExpiry({ db: db.kysely, clock, logger }) : null;
  const advice = planAdvice
    ? startPlanAdvice({ db: db.kysely, catalog: config.catalog, clock, logger })
    : null;
  const emails = await startEmailDispatcher({
    db,
    transport: config.mail.smtpUrl ? smtpTransport(config.mail.smtpUrl) : mailboxTransport,
    settings: { ...defaultDispatchSettings, from: config.mail.from, publicUrl: config.publicUrl },
    clock,
    logger,
  });
  return {
    entitlements: entitlements.cache,
    overage: followers.overage,
    alerts: followers.alerts,
    emails: emails.dispatcher,
    async stop() {
      expiry?.stop();
      advice?.stop();
      await followers.stop();
      await emails.stop();
      await entitlements.stop();
    },
  };
}
