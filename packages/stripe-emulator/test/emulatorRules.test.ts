import { describe, expect, it } from "vitest";
import { parseForm } from "../src/formEncoding.js";
import { formatAmount } from "../src/objects.js";
import { boundaryAfter, periodBoundary, prorate } from "../src/periods.js";
import { percentageDecimal, taxOn } from "../src/tax.js";

const at = (iso: string) => Date.parse(iso) / 1000;

describe("parseForm (Stripe's bracket notation)", () => {
  const cases: { name: string; input: string; expected: unknown }[] = [
    {
      name: "flat pairs",
      input: "email=a%40b.co&name=Ada+Lovelace",
      expected: { email: "a@b.co", name: "Ada Lovelace" },
    },
    {
      name: "indexed list of objects",
      input: "items[0][price]=price_a&items[0][quantity]=2&items[1][price]=price_b",
      expected: { items: [{ price: "price_a", quantity: "2" }, { price: "price_b" }] },
    },
    {
      name: "deep nesting",
      input:
        "line_items[0][adjustable_quantity][enabled]=true&line_items[0][adjustable_quantity][maximum]=500",
      expected: { line_items: [{ adjustable_quantity: { enabled: "true", maximum: "500" } }] },
    },
    {
      name: "metadata keeps its keys",
      input: "metadata[org_id]=org_1&metadata[0]=x",
      expected: { metadata: { org_id: "org_1", "0": "x" } },
    },
    {
      name: "expand with indexes",
      input: "expand[0]=customer&expand[1]=line_items",
      expected: { expand: ["customer", "line_items"] },
    },
    {
      name: "expand with empty brackets",
      input: "expand[]=customer&expand[]=subscription",
      expected: { expand: ["customer", "subscription"] },
    },
    {
      name: "percent-encoded brackets",
      input: "metadata%5Bplan%5D=pro",
      expected: { metadata: { plan: "pro" } },
    },
    {
      name: "empty value (the SDK's null)",
      input: "lookup_key=&cancel_at_period_end=false",
      expected: { lookup_key: "", cancel_at_period_end: "false" },
    },
    { name: "indexes out of order", input: "a[1]=second&a[0]=first", expected: { a: ["first", "second"] } },
    { name: "prototype keys dropped", input: "__proto__[x]=1&a[constructor]=2&ok=1", expected: { ok: "1" } },
    { name: "empty body", input: "", expected: {} },
  ];
  for (const { name, input, expected } of cases) {
    it(name, () => {
      expect(parseForm(input)).toEqual(expected);
    });
  }

  it("refuses broken percent-encoding", () => {
    expect(() => parseForm("a=%E0%A4%A")).toThrow(/percent-encoding/);
  });
});

describe("money rules", () => {
  const amounts: { name: string; input: Parameters<typeof formatAmount>[0]; expected: string }[] = [
    { name: "yearly price", input: { amount: 37440, currency: "usd" }, expected: "374.40 USD" },
    { name: "cents only", input: { amount: 5, currency: "eur" }, expected: "0.05 EUR" },
    { name: "credit", input: { amount: -1505, currency: "usd" }, expected: "-15.05 USD" },
  ];
  for (const { name, input, expected } of amounts) {
    it(`formats ${name}`, () => expect(formatAmount(input)).toBe(expected));
  }

  const prorations: { name: string; input: Parameters<typeof prorate>[0]; expected: number }[] = [
    { name: "a third, rounded down", input: { amount: 1000, part: 10, whole: 30 }, expected: 333 },
    { name: "a half cent rounds up", input: { amount: 5, part: 1, whole: 2 }, expected: 3 },
    { name: "nothing left", input: { amount: 1000, part: 0, whole: 30 }, expected: 0 },
    { name: "the whole period", input: { amount: 2900, part: 31, whole: 31 }, expected: 2900 },
    {
      name: "large amounts stay exact",
      input: { amount: 99_999_999, part: 2_591_999, whole: 2_592_000 },
      expected: 99_999_960,
    },
  ];
  for (const { name, input, expected } of prorations) {
    it(`prorates ${name}`, () => expect(prorate(input)).toBe(expected));
  }

  const taxes: { name: string; input: Parameters<typeof taxOn>[0]; expected: number }[] = [
    { name: "FR 20%", input: { amount: 10_000, country: "FR" }, expected: 2000 },
    { name: "DE 19%, half up", input: { amount: 999, country: "DE" }, expected: 190 },
    { name: "credit mirrors", input: { amount: -999, country: "DE" }, expected: -190 },
    { name: "outside the EU", input: { amount: 10_000, country: "US" }, expected: 0 },
    { name: "no country", input: { amount: 10_000, country: null }, expected: 0 },
  ];
  for (const { name, input, expected } of taxes) {
    it(`taxes ${name}`, () => expect(taxOn(input)).toBe(expected));
  }

  it("writes rates as Stripe's percentage_decimal", () => {
    expect([2000, 2550, 1725, 0].map(percentageDecimal)).toEqual(["20.0", "25.5", "17.25", "0.0"]);
  });
});

describe("billing periods", () => {
  it("keeps the anchor day, clamped to the month's end", () => {
    const anchor = at("2026-01-31T10:00:00Z");
    const ends = [1, 2, 3, 13].map((count) => periodBoundary({ anchor, interval: "month", count }));
    expect(ends.map((end) => new Date(end * 1000).toISOString())).toEqual([
      "2026-02-28T10:00:00.000Z",
      "2026-03-31T10:00:00.000Z",
      "2026-04-30T10:00:00.000Z",
      "2027-02-28T10:00:00.000Z",
    ]);
  });

  it("handles leap years for yearly prices", () => {
    const anchor = at("2028-02-29T00:00:00Z");
    expect(new Date(periodBoundary({ anchor, interval: "year", count: 1 }) * 1000).toISOString()).toBe(
      "2029-02-28T00:00:00.000Z",
    );
  });

  it("finds the boundary after a time", () => {
    const anchor = at("2026-01-15T00:00:00Z");
    expect(boundaryAfter({ anchor, interval: "month", after: at("2026-02-15T00:00:00Z") })).toBe(
      at("2026-03-15T00:00:00Z"),
    );
  });
});
