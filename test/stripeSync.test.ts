import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findSubscription, saveCustomerId } from "../src/db/subscriptionRepo.js";
import { buildCatalog } from "../src/domain/catalog.js";
import { createOrg } from "../src/services/accounts/createOrg.js";
import { signUp } from "../src/services/accounts/signUp.js";
import { refreshSubscription } from "../src/services/subscriptions/syncOrgSubscription.js";
import type { StripeSubscriptionFacts } from "../src/stripe/gateway.js";
import { availableEngines, createTestDatabase, type TestDatabase } from "./support/databases.js";

const engines = await availableEngines();
const catalog = buildCatalog();

function subscriptionOn(plan: string, customerId: string, at: Date): StripeSubscriptionFacts {
  return {
    id: "sub_sync",
    customerId,
    status: "active",
    itemId: "si_sync",
    priceId: `price_${plan}_month`,
    plan,
    interval: "month",
    currentPeriodStart: at,
    currentPeriodEnd: new Date(at.getTime() + 30 * 86_400_000),
    billingCycleAnchor: at,
    cancelAtPeriodEnd: false,
    created: at,
  };
}

for (const engine of engines) {
  describe(`syncing a subscription from Stripe [${engine}]`, () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await createTestDatabase(engine);
    });
    afterAll(() => database.drop());

    it("never lets a read of Stripe that a later sync overtook overwrite it: the slow one reads again", async () => {
      const db = database.db.kysely;
      const now = new Date();
      const { user } = await signUp({
        db,
        email: `sync-${Date.now()}@example.com`,
        password: "correct horse battery",
        name: "S",
        now,
      });
      const org = await createOrg({ db, owner: user, name: "S", trialDays: 15, now });
      const customerId = `cus_${org.id}`;
      await saveCustomerId(db, { orgId: org.id, customerId });

      // Stripe holds Solo; the first read of it is answered only once `release` is called.
      let onStripe = subscriptionOn("solo", customerId, now);
      let release = () => {};
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      let reads = 0;
      const stripe = {
        async listSubscriptions() {
          reads += 1;
          const answer = [onStripe];
          if (reads === 1) await held;
          return answer;
        },
      };

      const slow = refreshSubscription({ db, stripe, catalog, orgId: org.id, now });
      while (reads === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      // The customer moves to Maker, and a second sync reads and stores that first.
      onStripe = subscriptionOn("maker", customerId, now);
      expect((await refreshSubscription({ db, stripe, catalog, orgId: org.id, now }))?.plan).toBe("maker");
      // The first read, of Solo, comes back late: it must not win.
      release();
      expect((await slow)?.plan).toBe("maker");
      expect((await findSubscription(db, org.id))?.plan).toBe("maker");
      expect(reads).toBe(3);
    });
  });
}
