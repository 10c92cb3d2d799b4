import type { Kysely } from "kysely";
import { addOverageCharged, lockAccount, postOperation } from "../../db/creditPosting.js";
import { availableCredits, overageCharged, spendableGrants } from "../../db/creditReads.js";
import { queueEmail } from "../../db/emailRepo.js";
import type { Schema } from "../../db/schema.js";
import { inTransaction } from "../../db/transaction.js";
import { dayOf } from "../../db/usageAggregateRepo.js";
import type { Catalog } from "../../domain/catalog.js";
import { creditNotices } from "../../domain/emails.js";
import { planOverageCharges } from "../../domain/ledger.js";
import { toNumber } from "../../domain/quantity.js";
import { metrics } from "../../domain/usageEvents.js";
import { readUsage } from "../usage/readUsage.js";

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
  if ((await availableCredits(db, { orgId, now })).available === 0n) return { deducted: 0n };
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
    let owed = 0n;
    for (const charge of charges) {
      owed += charge.unpaid;
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
    if (deducted > 0n || owed > 0n) {
      const { available, total } = await availableCredits(tx, { orgId, now });
      const notices = creditNotices({ available, total, owed, orgName: report.org.name, cycleStart });
      for (const notice of notices) await queueEmail(tx, { orgId, ...notice, now });
    }
    return { deducted };
  });
}
