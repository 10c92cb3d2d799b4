import { EU_STANDARD_VAT_BASIS_POINTS, taxCents } from "./vatRates.js";

/** The emulator's tax engine: EU standard VAT by the customer's country, exclusive; none elsewhere. */
export function basisPointsFor(country: string | null | undefined): number {
  return country ? (EU_STANDARD_VAT_BASIS_POINTS[country.toUpperCase()] ?? 0) : 0;
}

/**
 * Tax on a line in cents. A credit line (negative) carries the mirror of the tax its positive
 * amount would, so a credit and a charge of the same amount cancel exactly.
 * Example: 1000 cents in FR → 200; -1000 → -200.
 */
export function taxOn({ amount, country }: { amount: number; country: string | null | undefined }): number {
  const basisPoints = basisPointsFor(country);
  if (basisPoints === 0 || amount === 0) return 0;
  const tax = taxCents({ amountCents: Math.abs(amount), basisPoints });
  return amount < 0 ? -tax : tax;
}

/** Basis points as Stripe's `percentage_decimal`: 2000 → "20.0", 2550 → "25.5", 1725 → "17.25". */
export function percentageDecimal(basisPoints: number): string {
  const whole = Math.floor(basisPoints / 100);
  const fraction = String(basisPoints % 100)
    .padStart(2, "0")
    .replace(/0$/, "");
  return `${whole}.${fraction === "" ? "0" : fraction}`;
}
