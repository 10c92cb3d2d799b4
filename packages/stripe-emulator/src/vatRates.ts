/**
 * The rates the emulator's tax engine applies, standing in for Stripe Tax: standard VAT of the EU
 * member states in basis points (2000 = 20%), as in force on 2026-01-01; no tax elsewhere. Stripe
 * owns these on the real service, so the emulator keeps its own table rather than read the
 * estimate's; a test of Meterline holds the two equal.
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
export function taxCents({ amountCents, basisPoints }: { amountCents: number; basisPoints: number }): number {
  return Math.floor((amountCents * basisPoints + 5_000) / 10_000);
}
