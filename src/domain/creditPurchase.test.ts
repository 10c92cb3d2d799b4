import { describe, expect, it } from "vitest";
import { buildCatalog } from "./catalog.js";
import { checkCreditPayment, estimatePurchase, type PaidCreditCheckout } from "./creditPurchase.js";

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

describe("checkCreditPayment", () => {
  const paid = (changes: Partial<PaidCreditCheckout> = {}): PaidCreditCheckout => ({
    quantity: 100,
    unitAmount: 100,
    currency: "usd",
    amountSubtotal: 10_000,
    amountTotal: 12_000,
    ...changes,
  });

  it.each([
    { name: "100 credits with 20% tax", input: paid(), credits: 100 },
    { name: "no tax", input: paid({ amountTotal: 10_000 }), credits: 100 },
    {
      name: "the buyer chose 7 on Stripe's page",
      input: paid({ quantity: 7, amountSubtotal: 700, amountTotal: 700 }),
      credits: 7,
    },
    {
      name: "the most offered",
      input: paid({ quantity: 100_000, amountSubtotal: 10_000_000, amountTotal: 10_000_000 }),
      credits: 100_000,
    },
  ])("$name: grants $credits credits", ({ input, credits }) => {
    expect(checkCreditPayment({ paid: input, currency: "usd" })).toEqual({ matches: true, credits });
  });

  it.each([
    {
      name: "a subtotal tampered with",
      input: paid({ amountSubtotal: 500, amountTotal: 600 }),
      asked: 10_000,
      problem: "the subtotal is 5.00 USD, not 100.00 USD for 100 credits",
    },
    {
      name: "a total below the subtotal (a discount no one offered)",
      input: paid({ amountTotal: 9_999 }),
      asked: 10_000,
      problem: "the total is 99.99 USD, less than the subtotal",
    },
    {
      name: "no total",
      input: paid({ amountTotal: null }),
      asked: 10_000,
      problem: "it has no total",
    },
    {
      name: "a misconfigured price",
      input: paid({ unitAmount: 1, amountSubtotal: 100, amountTotal: 100 }),
      asked: 10_000,
      problem: "the unit price is 0.01 USD, not 1.00 USD",
    },
    {
      name: "another currency",
      input: paid({ currency: "eur" }),
      asked: 10_000,
      problem: "it was paid in eur, not usd",
    },
    {
      name: "more credits than offered",
      input: paid({ quantity: 100_001, amountSubtotal: 10_000_100, amountTotal: 10_000_100 }),
      asked: null,
      problem: "the quantity 100001 is not a whole number of credits from 1 to 100000",
    },
    {
      name: "no quantity",
      input: paid({ quantity: null }),
      asked: null,
      problem: "the quantity (none) is not a whole number of credits from 1 to 100000",
    },
  ])("$name: grants nothing, saying why", ({ input, asked, problem }) => {
    expect(checkCreditPayment({ paid: input, currency: "usd" })).toMatchObject({
      matches: false,
      askedSubtotalCents: asked,
      problem,
    });
  });

  it("says what was asked and what was paid", () => {
    expect(
      checkCreditPayment({ paid: paid({ amountSubtotal: 500, amountTotal: 600 }), currency: "usd" }),
    ).toMatchObject({
      asked: "100 credits at 1.00 USD each: 100.00 USD plus tax",
      paid: "quantity 100 at 1.00 USD: subtotal 5.00 USD, total 6.00 USD",
    });
  });
});
