import type { Tier } from "./catalog.js";
import { minBig } from "./money.js";
import { ceilDiv, type Quantity } from "./quantity.js";

/**
 * The cost in micro-credits of `quantity` units of overage under graduated tiers, each tier
 * pricing only its own slice, rounded up to the next micro-credit (1e-6 credit). Exact: no
 * floating point.
 *
 * Example (MAU tiers 1M → 0.003, 3M → 0.0022, …): 1,500,000 MAU over quota costs
 * 1,000,000 × 0.003 + 500,000 × 0.0022 = 4,100 credits = 4_100_000_000n micro-credits.
 * Example (bandwidth, 0.06 per GiB first): 1.5 GiB = 3/2 GiB costs 0.09 credits = 90_000n.
 */
export function tieredCostMicros({ quantity, tiers }: { quantity: Quantity; tiers: Tier[] }): bigint {
  const { numerator, denominator } = quantity;
  if (numerator <= 0n) return 0n;
  let remaining = numerator; // in units of 1/denominator
  let lower = 0n;
  let total = 0n; // micro-credits × denominator
  for (const tier of tiers) {
    const upper = tier.upTo === null ? null : BigInt(tier.upTo) * denominator;
    const slice = upper === null ? remaining : minBig(remaining, upper - lower);
    total += slice * tier.microsPerUnit;
    remaining -= slice;
    if (remaining === 0n || upper === null) break;
    lower = upper;
  }
  return ceilDiv(total, denominator);
}
