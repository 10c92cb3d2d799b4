import { randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import type { Schema } from "../../db/schema.js";
import { advisoryLocks, inTransaction, takeAdvisoryLock } from "../../db/transaction.js";
import { countUsers } from "../../db/userRepo.js";
import { createApiKey } from "./apiKeys.js";
import { createOrg } from "./createOrg.js";
import { signUp } from "./signUp.js";

export interface DemoCredentials {
  email: string;
  password: string;
  orgId: string;
  platformKey: string;
}

export const DEMO_EMAIL = "demo@meterline.local";

/**
 * On the first start of an empty database, creates a demo user, an organization it owns and a
 * platform key, and returns them to be printed once. Does nothing once any user exists. All or
 * nothing, and under a lock, so processes starting together seed once.
 */
export function seedDemo({
  db,
  trialDays,
  now,
}: {
  db: Kysely<Schema>;
  trialDays: number;
  now: Date;
}): Promise<DemoCredentials | null> {
  return inTransaction(db, async (tx) => {
    await takeAdvisoryLock(tx, advisoryLocks.demoSeed);
    if ((await countUsers(tx)) > 0n) return null;
    const password = randomBytes(9).toString("base64url");
    const { user } = await signUp({ db: tx, email: DEMO_EMAIL, password, name: "Demo User", now });
    const org = await createOrg({ db: tx, owner: user, name: "Demo Org", country: "FR", trialDays, now });
    const { key } = await createApiKey({
      db: tx,
      orgId: null,
      name: "Demo platform key",
      scopes: ["usage:write", "entitlements:read", "admin"],
      createdBy: user.id,
      now,
    });
    return { email: DEMO_EMAIL, password, orgId: org.id, platformKey: key };
  });
}
