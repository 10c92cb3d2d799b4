/**
 * Standard VAT rates of the EU member states, in basis points (2000 = 20%), as in force on
 * 2026-01-01. Countries not listed are charged no tax. The default for the credit estimate's
 * rate table. Stripe Tax charges the same rates; the local emulator keeps its own copy, held equal
 * to this one by a test.
 */
export const EU_STANDARD_VAT_BASIS_POINTS: Readonly<Record<string, number>> = {
  AT: 2000,
  BE: 2100,
  BG: 2000,
  CY: 1900,
  CZ: 2100,
  DE: 1900,
  DK: 2500,
  EE: 2400,
  ES: 2100,
  FI: 2550,
  FR: 2000,
  GR: 2400,
  HR: 2500,
  HU: 2700,
  IE: 2300,
  IT: 2200,
  LT: 2100,
  LU: 1700,
  LV: 2100,
  MT: 1800,
  NL: 2100,
  PL: 2300,
  PT: 2300,
  RO: 2100,
  SE: 2500,
  SI: 2200,
  SK: 2300,
};

/**
 * Tax on an amount in cents at a rate in basis points, rounded half up to the cent.
 * Example: 10,000 cents at 2000 bp (20%) → 2,000 cents; 999 cents at 1900 bp → 189.81 → 190.
 */
export function taxCents({ amountCents, basisPoints }: { amountCents: bigint; basisPoints: number }): bigint {
  return (amountCents * BigInt(basisPoints) + 5_000n) / 10_000n;
}
