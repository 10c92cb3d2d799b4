import { describe, expect, it } from "vitest";
import {
  annualTerms,
  buildCatalog,
  CatalogError,
  creditTiersFor,
  defaultAnnualCents,
  findPlan,
} from "./catalog.js";
import { whole } from "./quantity.js";
import { tieredCostMicros } from "./tierPricing.js";

describe("built-in catalog", () => {
  const catalog = buildCatalog();

  it.each([
    { plan: "solo", monthly: 1_400, annual: 13_440, perMonth: 1_120, mau: 2_000, bandwidth: 13 },
    { plan: "maker", monthly: 3_900, annual: 37_440, perMonth: 3_120, mau: 10_000, bandwidth: 250 },
    { plan: "team", monthly: 9_900, annual: 95_040, perMonth: 7_920, mau: 100_000, bandwidth: 500 },
    {
      plan: "enterprise",
      monthly: 24_900,
      annual: 239_040,
      perMonth: 19_920,
      mau: 1_000_000,
      bandwidth: 3_000,
    },
  ])("$plan: $monthly a month, $annual a year ($perMonth a month), 20% off", (row) => {
    const plan = findPlan(catalog, row.plan);
    expect(plan).toBeDefined();
    if (!plan) return;
    expect(plan.monthlyCents).toBe(row.monthly);
    expect(plan.annualCents).toBe(row.annual);
    expect(annualTerms(plan)).toEqual({ monthlyEquivalentCents: row.perMonth, discountPercent: 20 });
    expect(plan.quotas.mau).toBe(row.mau);
    expect(plan.quotas.bandwidth_gib).toBe(row.bandwidth);
  });

  it("gives enterprise the features of every plan below it and its own", () => {
    expect(findPlan(catalog, "enterprise")?.features).toEqual(
      expect.arrayContaining(["Priority bug fixes", "Custom domain", "SOC 2 compliance", "SSO", "SLA"]),
    );
    expect(findPlan(catalog, "solo")?.features).toEqual(["Community support"]);
  });

  it("prices overage in exact micro-credits, the last tier unbounded", () => {
    expect(catalog.creditTiers.mau[0]).toEqual({ upTo: 1_000_000, microsPerUnit: 3_000n });
    expect(catalog.creditTiers.bandwidth[2]).toEqual({ upTo: 6_144, microsPerUnit: 42_500n });
    expect(catalog.creditTiers.storage.at(-1)).toEqual({ upTo: null, microsPerUnit: 21_000n });
    expect(catalog.creditTiers.build_minutes).toHaveLength(6);
  });

  it("starts new organizations on a 15-day Solo trial with 7 days of grace when past due", () => {
    expect(catalog.trial).toEqual({ days: 15, plan: "solo" });
    expect(catalog.pastDueGraceDays).toBe(7);
  });
});

describe("catalog file", () => {
  const onePlan = {
    id: "pro",
    name: "Pro",
    monthly_cents: 1_000,
    quotas: { mau: 5, storage_gib: 1, bandwidth_gib: 1, build_minutes: 1, concurrent_builds: 1 },
    features: [],
  };

  it("replaces the plans; annual defaults to 20% off unless given", () => {
    const catalog = buildCatalog({
      plans: [onePlan, { ...onePlan, id: "max", annual_cents: 9_000 }],
      trial: { days: 0, plan: "pro" },
    });
    expect(catalog.plans.map((plan) => [plan.id, plan.annualCents])).toEqual([
      ["pro", 9_600],
      ["max", 9_000],
    ]);
    expect(catalog.creditTiers.mau[0]?.microsPerUnit).toBe(3_000n);
  });

  it.each([
    { name: "an unknown field", input: { plan: [] }, message: "plan" },
    {
      name: "a negative price",
      input: { plans: [{ ...onePlan, monthly_cents: -1 }] },
      message: "plans.0.monthly_cents",
    },
    {
      name: "a float price",
      input: { plans: [{ ...onePlan, monthly_cents: 9.5 }] },
      message: "plans.0.monthly_cents",
    },
    { name: "a duplicate plan", input: { plans: [onePlan, onePlan] }, message: "duplicate plan id pro" },
    { name: "a trial on no plan", input: { plans: [onePlan] }, message: "trial.plan" },
    {
      name: "a tier price with 7 decimals",
      input: { credit_tiers: { ...tiersOf("0.0000001") } },
      message: "credit_tiers.mau.0.price",
    },
    {
      name: "a bounded last tier",
      input: { credit_tiers: { ...tiersOf("0.1"), bandwidth: [{ up_to: 5, price: "0.1" }] } },
      message: "credit_tiers.bandwidth.0.up_to",
    },
  ])("refuses $name, naming the field", ({ input, message }) => {
    expect(() => buildCatalog(input)).toThrow(CatalogError);
    expect(() => buildCatalog(input)).toThrow(message);
  });

  function tiersOf(price: string) {
    const single = [{ up_to: null, price }];
    return { mau: single, storage: single, bandwidth: single, build_minutes: single };
  }
});

describe("defaultAnnualCents", () => {
  it("rounds half up to the cent", () => {
    expect(defaultAnnualCents(1)).toBe(10); // 9.6 → 10
    expect(defaultAnnualCents(999)).toBe(9_590); // 9,590.4 → 9,590
  });
});

describe("creditTiersFor", () => {
  const catalog = buildCatalog();

  it("prices with the catalog's tiers when the organization has none of its own", () => {
    expect(creditTiersFor(catalog, null)).toBe(catalog.creditTiers);
  });

  it("replaces only the metrics the organization has its own tiers for, and charges by them", () => {
    const tiers = creditTiersFor(catalog, {
      mau: [
        { up_to: 5_000, price: "0.001" },
        { up_to: null, price: "0.002" },
      ],
    });
    expect(tiers.mau).toEqual([
      { upTo: 5_000, microsPerUnit: 1_000n },
      { upTo: null, microsPerUnit: 2_000n },
    ]);
    expect(tiers.bandwidth).toBe(catalog.creditTiers.bandwidth);
    // 10,000 MAU over: 5,000 × 0.001 + 5,000 × 0.002 = 15 credits (the catalog's: 30).
    expect(tieredCostMicros({ quantity: whole(10_000n), tiers: tiers.mau })).toBe(15_000_000n);
    expect(tieredCostMicros({ quantity: whole(10_000n), tiers: catalog.creditTiers.mau })).toBe(30_000_000n);
  });
});
