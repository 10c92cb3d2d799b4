import type { Logger } from "pino";
import type { Config } from "../config.js";
import type { Db } from "../db/client.js";
import type { Clock } from "../domain/clock.js";
import type { StripeGateway } from "../stripe/gateway.js";
import type { EntitlementCache } from "../workers/entitlementCache.js";

/** What the HTTP layer is given by the composition root; it builds none of it itself. */
export interface AppDeps {
  config: Config;
  db: Db;
  clock: Clock;
  logger: Logger;
  /** Stripe (or the local emulator) and the secrets its webhook deliveries are signed with. */
  stripe: { gateway: StripeGateway; webhookSecrets: string[] };
  entitlements: EntitlementCache;
}
