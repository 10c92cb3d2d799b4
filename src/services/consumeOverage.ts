import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Db } from "../db/client.js";
import {
  addOverageCharged,
  availableCredits,
  lockAccount,
  overageCharged,
  postOperation,
  spendableGrants,
} from "../db/creditRepo.js";
import type { Schema } from "../db/schema.js";
import { inTransaction } from "../db/transaction.js";
import { dayOf, USAGE_CHANNEL } from "../db/usageAggregateRepo.js";
import type { Catalog } from "../domain/catalog.js";
import type { Clock } from "../domain/clock.js";
import { planOverageCharges } from "../domain/ledger.js";
import { toNumber } from "../domain/usage.js";
import { metrics } from "../domain/usageEvents.js";
import { readUsage } from "./readUsage.js";

/**
 * Deducts the cycle's overage so far from the organization's credits: per metric, its cost at
 * the tier prices minus what was already deducted this cycle, from grants in order of earliest
 * expiry. What the credits cannot cover stays owed and is taken when credits arrive in the same
 * cycle. Idempotent and safe to run from any process at any time: it runs under the
 * organization's credit lock, and each deduction is keyed by the amount charged before it.
 */
export async function consumeOverage({
  db,
  catalog,
  orgId,
  now,
}: {
  db: Kysely<Schema>;
  catalog: Catalog;
  orgId: string;
  now: Date;
}): Promise<{ deducted: bigint }> {
  // Nothing to pay with, nothing to do: the common case for a busy organization on its plan.
  if ((await availableCredits(db, { orgId, now })) === 0n) return { deducted: 0n };
  return inTransaction(db, async (tx) => {
    await lockAccount(tx, { orgId, now });
    const report = await readUsage({ db: tx, catalog, orgId, now });
    const cycleStart = dayOf(report.cycle.start);
    const charged = await overageCharged(tx, { orgId, cycleStart });
    const charges = planOverageCharges({
      dues: metrics.map((metric) => ({
        metric,
        cost: report.measured[metric].overageCostMicros,
        charged: charged.get(metric) ?? 0n,
      })),
      grants: await spendableGrants(tx, { orgId, now }),
      now,
    });
    let deducted = 0n;
    for (const charge of charges) {
      if (charge.paid === 0n) continue;
      const metric = metrics.find((name) => name === charge.metric);
      if (!metric) continue;
      const overage = report.measured[metric].overage;
      const quantity = String(toNumber(overage));
      await postOperation(tx, {
        orgId,
        operationKey: `overage:${metric}:${cycleStart}:${charge.chargedBefore}`,
        entries: charge.allocations.map((allocation) => ({
          type: "deduction" as const,
          amount: -allocation.amount,
          grantId: allocation.grantId,
          metric,
          quantity,
          description: `Overage of ${metric} this cycle (${quantity} over the quota so far)`,
        })),
        now,
      });
      await addOverageCharged(tx, { orgId, metric, cycleStart, amount: charge.paid });
      deducted += charge.paid;
    }
    return { deducted };
  });
}

/** How often at most one organization's overage is charged: "within seconds" of the usage. */
const MIN_INTERVAL_MS = 500;

/**
 * Runs `consumeOverage` for organizations whose usage or credits changed, in the background:
 * one run at a time per organization, at most every MIN_INTERVAL_MS, and once more after a run
 * if more changes came in meanwhile.
 */
export class OverageConsumer {
  readonly #state = new Map<string, { running: boolean; again: boolean }>();
  readonly #db: Kysely<Schema>;
  readonly #catalog: Catalog;
  readonly #clock: Clock;
  readonly #logger: Pick<Logger, "error"> | undefined;
  #closed = false;

  constructor({
    db,
    catalog,
    clock,
    logger,
  }: {
    db: Kysely<Schema>;
    catalog: Catalog;
    clock: Clock;
    logger?: Pick<Logger, "error"> | undefined;
  }) {
    this.#db = db;
    this.#catalog = catalog;
    this.#clock = clock;
    this.#logger = logger;
  }

  schedule(orgId: string): void {
    if (this.#closed) return;
    const state = this.#state.get(orgId);
    if (state) {
      state.again = true;
      return;
    }
    this.#state.set(orgId, { running: true, again: false });
    void this.#run(orgId);
  }

  /** Resolves when nothing is running or pending (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#state.size > 0) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  close(): void {
    this.#closed = true;
  }

  async #run(orgId: string): Promise<void> {
    const state = this.#state.get(orgId);
    if (!state) return;
    do {
      state.again = false;
      const started = Date.now();
      try {
        await consumeOverage({ db: this.#db, catalog: this.#catalog, orgId, now: this.#clock.now() });
      } catch (error) {
        this.#logger?.error(
          { err: error, org_id: orgId },
          "charging overage failed; retried on the next change",
        );
      }
      if (state.again && !this.#closed) {
        const wait = MIN_INTERVAL_MS - (Date.now() - started);
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
    } while (state.again && !this.#closed);
    this.#state.delete(orgId);
  }
}

/** The consumer, woken by every change any process announces (usage, credits, plans). */
export async function startOverageConsumer({
  db,
  catalog,
  clock,
  logger,
}: {
  db: Db;
  catalog: Catalog;
  clock: Clock;
  logger?: Pick<Logger, "error"> | undefined;
}): Promise<{ consumer: OverageConsumer; stop: () => Promise<void> }> {
  const consumer = new OverageConsumer({ db: db.kysely, catalog, clock, logger });
  const unlisten = await db.listen(USAGE_CHANNEL, (orgId) => consumer.schedule(orgId));
  return {
    consumer,
    stop: async () => {
      consumer.close();
      await unlisten();
      await consumer.idle();
    },
  };
}
