import { taxCents } from "./vatRates.js";

/** 1 credit = 1 USD: a credit costs 100 cents before tax. */
export const CENTS_PER_CREDIT = 100n;
export const CREDIT_PRESETS = [50, 100, 500, 5000] as const;
export const MIN_CREDITS = 1;
export const MAX_CREDITS = 100_000;

export interface PurchaseEstimate {
  credits: number;
  country: string | null;
  taxRateBasisPoints: number;
  subtotalCents: bigint;
  taxCents: bigint;
  totalCents: bigint;
}

/**
 * What buying `credits` costs in a billing country, tax included, from the rate table. The
 * same computation prices the Checkout, so the estimate is what is charged.
 *
 * Example: 100 credits in FR (2000 bp) → 10,000 + 2,000 tax = 12,000 cents; 250 → 30,000.
 */
export function estimatePurchase({
  credits,
  country,
  taxRates,
}: {
  credits: number;
  country: string | null;
  taxRates: Readonly<Record<string, number>>;
}): PurchaseEstimate {
  if (!Number.isInteger(credits) || credits < MIN_CREDITS || credits > MAX_CREDITS) {
    throw new RangeError(`credits must be a whole number from ${MIN_CREDITS} to ${MAX_CREDITS}`);
  }
  const rate = country ? (taxRates[country] ?? 0) : 0;
  const subtotalCents = BigInt(credits) * CENTS_PER_CREDIT;
  const tax = taxCents({ amountCents: subtotalCents, basisPoints: rate });
  return {
    credits,
    country,
    taxRateBasisPoints: rate,
    subtotalCents,
    taxCents: tax,
    totalCents: subtotalCents + tax,
  };
}
