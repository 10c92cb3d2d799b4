import { describe, expect, it } from "vitest";
import { buildCatalog } from "./catalog.js";
import { estimatePurchase } from "./creditPurchase.js";

const { taxRates } = buildCatalog();

describe("estimatePurchase", () => {
  it.each([
    { credits: 100, country: "FR", subtotal: 10_000n, tax: 2_000n, total: 12_000n },
    { credits: 250, country: "FR", subtotal: 25_000n, tax: 5_000n, total: 30_000n },
    { credits: 50, country: "DE", subtotal: 5_000n, tax: 950n, total: 5_950n },
    { credits: 1, country: "FI", subtotal: 100n, tax: 26n, total: 126n },
    { credits: 5000, country: "US", subtotal: 500_000n, tax: 0n, total: 500_000n },
    { credits: 7, country: null, subtotal: 700n, tax: 0n, total: 700n },
  ])("$credits credits in $country: $total cents", ({ credits, country, subtotal, tax, total }) => {
    expect(estimatePurchase({ credits, country, taxRates })).toMatchObject({
      subtotalCents: subtotal,
      taxCents: tax,
      totalCents: total,
    });
  });

  it.each([0, 100_001, 1.5, -1])("refuses %s credits", (credits) => {
    expect(() => estimatePurchase({ credits, country: "FR", taxRates })).toThrow(RangeError);
  });
});
