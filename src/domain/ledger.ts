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
