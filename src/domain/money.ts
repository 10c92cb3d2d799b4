/**
 * The one place that converts between money units. Credits are held as integer micro-credits
 * (1 credit = 1 USD = 1,000,000 micro-credits) in `bigint`; Stripe amounts are integer cents.
 * No JavaScript number ever holds a credit amount.
 */

export const MICROS_PER_CREDIT = 1_000_000n;
export const MICROS_PER_CENT = 10_000n;

const decimalPattern = /^(\d{1,15})(?:\.(\d{1,6}))?$/;

/**
 * Parses a non-negative decimal string of at most six decimals into micro-credits.
 * Example: "0.0425" → 42_500n; "12.5" → 12_500_000n. Anything else is `null`.
 */
export function parseCredits(text: string): bigint | null {
  const match = decimalPattern.exec(text);
  if (!match) return null;
  const [, whole = "0", fraction = ""] = match;
  return BigInt(whole) * MICROS_PER_CREDIT + BigInt(fraction.padEnd(6, "0"));
}

/** Micro-credits as the API's decimal string with six decimals: 12_500_000n → "12.500000". */
export function formatCredits(micros: bigint): string {
  const sign = micros < 0n ? "-" : "";
  const magnitude = micros < 0n ? -micros : micros;
  const whole = magnitude / MICROS_PER_CREDIT;
  const fraction = (magnitude % MICROS_PER_CREDIT).toString().padStart(6, "0");
  return `${sign}${whole}.${fraction}`;
}

/** Six-decimal credits as people read them, with at least two decimals: "30.000000" → "30.00". */
export function readableCredits(text: string): string {
  return text.replace(/(\.\d{2}\d*?)0+$/, "$1");
}

/** Non-negative micro-credits as US dollars and cents, rounded half up: 30_004_999n → "30.00". */
export function formatUsd(micros: bigint): string {
  const cents = (micros + MICROS_PER_CENT / 2n) / MICROS_PER_CENT;
  return `${cents / 100n}.${(cents % 100n).toString().padStart(2, "0")}`;
}

/** Cents as a display amount with its currency: 37_440 and "usd" → "374.40 USD". */
export function formatCents(cents: number, currency: string): string {
  const sign = cents < 0 ? "-" : "";
  const magnitude = Math.abs(cents);
  return `${sign}${Math.floor(magnitude / 100)}.${String(magnitude % 100).padStart(2, "0")} ${currency.toUpperCase()}`;
}

/** Divides and rounds half up, for non-negative integers: (7, 2) → 4; (37_440, 12) → 3_120. */
export function divideRoundingHalfUp(dividend: number, divisor: number): number {
  return Math.floor((2 * dividend + divisor) / (2 * divisor));
}

/** The smaller of two amounts (Math.min takes no bigint). */
export function minBig(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
