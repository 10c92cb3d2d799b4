import { formatCents } from "./money.js";
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

/** What Stripe says a paid credit Checkout Session charged. */
export interface PaidCreditCheckout {
  /** The credits: the quantity of the credit line. */
  quantity: number | null;
  unitAmount: number | null;
  currency: string | null;
  amountSubtotal: number | null;
  amountTotal: number | null;
}

export type CreditPaymentCheck =
  | { matches: true; credits: number }
  | {
      matches: false;
      /** What the credits bought cost before tax; null when the quantity is not one Meterline offers. */
      askedSubtotalCents: number | null;
      problem: string;
      /** What was asked and what was paid, as people read them. */
      asked: string;
      paid: string;
    };

/**
 * Whether a paid credit Checkout paid for what Meterline asked: a whole number of credits from
 * MIN_CREDITS to MAX_CREDITS (the buyer may change the quantity on Stripe's page) at
 * CENTS_PER_CREDIT each, in the catalog's currency, a subtotal of their price, and a total of the
 * subtotal plus tax, never less. Anything else (a tampered session, a misconfigured price) is a
 * mismatch: no credits may be granted for it.
 *
 * Example: 100 credits paid 10,000 cents before tax and 12,000 with it match; the same session
 * with a 500-cent subtotal is "the subtotal is 5.00 USD, not 100.00 USD for 100 credits".
 */
export function checkCreditPayment({
  paid,
  currency,
}: {
  paid: PaidCreditCheckout;
  currency: string;
}): CreditPaymentCheck {
  const { quantity } = paid;
  const offered =
    quantity !== null && Number.isInteger(quantity) && quantity >= MIN_CREDITS && quantity <= MAX_CREDITS;
  const askedSubtotalCents = offered ? quantity * UNIT_CENTS : null;
  const problem = mismatchOf({ paid, currency, askedSubtotalCents });
  if (problem === null) return { matches: true, credits: quantity as number };
  const money = (cents: number | null) => orUnknown(cents, paid.currency ?? currency);
  return {
    matches: false,
    askedSubtotalCents,
    problem,
    asked:
      askedSubtotalCents === null
        ? `${MIN_CREDITS} to ${MAX_CREDITS} credits at ${formatCents(UNIT_CENTS, currency)} each, plus tax`
        : `${quantity} credits at ${formatCents(UNIT_CENTS, currency)} each: ${formatCents(askedSubtotalCents, currency)} plus tax`,
    paid: `quantity ${quantity ?? "unknown"} at ${money(paid.unitAmount)}: subtotal ${money(paid.amountSubtotal)}, total ${money(paid.amountTotal)}`,
  };
}

const UNIT_CENTS = Number(CENTS_PER_CREDIT);

/** Stripe leaves some amounts out of some sessions. */
function orUnknown(cents: number | null, currency: string): string {
  return cents === null ? "unknown" : formatCents(cents, currency);
}

function mismatchOf({
  paid,
  currency,
  askedSubtotalCents,
}: {
  paid: PaidCreditCheckout;
  currency: string;
  askedSubtotalCents: number | null;
}): string | null {
  const money = (cents: number | null) => orUnknown(cents, paid.currency ?? currency);
  if (askedSubtotalCents === null) {
    return `the quantity ${paid.quantity ?? "(none)"} is not a whole number of credits from ${MIN_CREDITS} to ${MAX_CREDITS}`;
  }
  if (paid.currency !== currency) return `it was paid in ${paid.currency ?? "no currency"}, not ${currency}`;
  if (paid.unitAmount !== UNIT_CENTS) {
    return `the unit price is ${money(paid.unitAmount)}, not ${formatCents(UNIT_CENTS, currency)}`;
  }
  if (paid.amountSubtotal !== askedSubtotalCents) {
    return `the subtotal is ${money(paid.amountSubtotal)}, not ${formatCents(askedSubtotalCents, currency)} for ${paid.quantity} credits`;
  }
  if (paid.amountTotal === null) return "it has no total";
  if (paid.amountTotal < askedSubtotalCents) {
    return `the total is ${money(paid.amountTotal)}, less than the subtotal`;
  }
  return null;
}
