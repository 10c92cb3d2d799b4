/**
 * Exact non-negative quantities of billing units, as fractions of `bigint`s: usage in GiB or
 * GiB-months is rarely whole, and what is charged from it must not drift. No floating point,
 * except `toNumber` for display.
 */
export interface Quantity {
  numerator: bigint;
  denominator: bigint;
}

export const whole = (units: bigint): Quantity => ({ numerator: units, denominator: 1n });

/** Rounds up a non-negative ratio: ceilDiv(7n, 2n) = 4n. */
export function ceilDiv(numerator: bigint, denominator: bigint): bigint {
  return (numerator + denominator - 1n) / denominator;
}

export function compare(a: Quantity, b: Quantity): number {
  const left = a.numerator * b.denominator;
  const right = b.numerator * a.denominator;
  return left < right ? -1 : left > right ? 1 : 0;
}

export function plus(a: Quantity, b: Quantity): Quantity {
  return {
    numerator: a.numerator * b.denominator + b.numerator * a.denominator,
    denominator: a.denominator * b.denominator,
  };
}

/** a − b, or nothing when b is larger: overage is never negative. */
export function minusFloor(a: Quantity, b: Quantity): Quantity {
  const numerator = a.numerator * b.denominator - b.numerator * a.denominator;
  return numerator > 0n ? { numerator, denominator: a.denominator * b.denominator } : whole(0n);
}

/** quantity × by ÷ over. */
export function scale(quantity: Quantity, by: bigint, over: bigint): Quantity {
  return { numerator: quantity.numerator * by, denominator: quantity.denominator * over };
}

/** A quantity as a number with at most six decimals, for display. */
export function toNumber(quantity: Quantity): number {
  const micros = (quantity.numerator * 1_000_000n + quantity.denominator / 2n) / quantity.denominator;
  return Number(micros) / 1_000_000;
}
