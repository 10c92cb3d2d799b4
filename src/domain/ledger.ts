import { minBig } from "./money.js";

/**
 * Credit ledger rules, pure. Amounts are micro-credits (bigint). A balance is the sum of its
 * entries and is never negative; credits are spent from grants in order of earliest expiry,
 * then oldest.
 */

export const entryTypes = ["purchase", "grant", "deduction", "expiry", "refund", "adjustment"] as const;
export type EntryType = (typeof entryTypes)[number];

export interface SpendableGrant {
  id: string;
  remaining: bigint;
  expiresAt: Date;
  createdAt: Date;
}

export interface Allocation {
  grantId: string;
  amount: bigint;
}

/** Grants in the order credits are spent from them: earliest expiry, then oldest, then id. */
export function spendingOrder(grants: readonly SpendableGrant[]): SpendableGrant[] {
  return [...grants].sort(
    (a, b) =>
      a.expiresAt.getTime() - b.expiresAt.getTime() ||
      a.createdAt.getTime() - b.createdAt.getTime() ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}

/**
 * Takes up to `amount` from the grants usable at `now`, in spending order. What the grants
 * cannot cover is `uncovered`.
 *
 * Example: grants A (10 left, expiring in May) and B (50 left, expiring in March); spending 30
 * takes 30 from B. Spending 55 takes 50 from B and 5 from A. Spending 70 leaves 10 uncovered.
 */
export function allocateSpend({
  grants,
  amount,
  now,
}: {
  grants: readonly SpendableGrant[];
  amount: bigint;
  now: Date;
}): { allocations: Allocation[]; uncovered: bigint } {
  if (amount < 0n) throw new RangeError("a spend is not negative");
  const allocations: Allocation[] = [];
  let left = amount;
  for (const grant of spendingOrder(grants)) {
    if (left === 0n) break;
    if (grant.remaining <= 0n || grant.expiresAt <= now) continue;
    const take = minBig(grant.remaining, left);
    allocations.push({ grantId: grant.id, amount: take });
    left -= take;
  }
  return { allocations, uncovered: left };
}

export interface OverageDue {
  metric: string;
  /** The cycle's overage cost so far, in micro-credits. */
  cost: bigint;
  /** What was deducted for it already this cycle. */
  charged: bigint;
}

export interface OverageCharge {
  metric: string;
  chargedBefore: bigint;
  allocations: Allocation[];
  paid: bigint;
  /** Still owed after this charge: deducted when credits arrive within the cycle. */
  unpaid: bigint;
}

/**
 * What to deduct for each metric's overage: its cost so far minus what was charged, from the
 * grants in spending order, one metric after the other from the same grants.
 *
 * Example: MAU overage costing 30 credits with 12 charged and 100 available → 18 deducted, 0
 * unpaid; with 5 available instead → 5 deducted, 13 unpaid.
 */
export function planOverageCharges({
  dues,
  grants,
  now,
}: {
  dues: readonly OverageDue[];
  grants: readonly SpendableGrant[];
  now: Date;
}): OverageCharge[] {
  const left = new Map(grants.map((grant) => [grant.id, grant.remaining]));
  const charges: OverageCharge[] = [];
  for (const due of dues) {
    const owed = due.cost - due.charged;
    if (owed <= 0n) continue;
    const available = grants.map((grant) => ({ ...grant, remaining: left.get(grant.id) ?? 0n }));
    const { allocations, uncovered } = allocateSpend({ grants: available, amount: owed, now });
    for (const allocation of allocations) {
      left.set(allocation.grantId, (left.get(allocation.grantId) ?? 0n) - allocation.amount);
    }
    charges.push({
      metric: due.metric,
      chargedBefore: due.charged,
      allocations,
      paid: owed - uncovered,
      unpaid: uncovered,
    });
  }
  return charges;
}
