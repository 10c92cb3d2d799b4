import { z } from "zod";
import { divideRoundingHalfUp, parseCredits } from "./money.js";
import type { Metric } from "./usageEvents.js";
import { EU_STANDARD_VAT_BASIS_POINTS } from "./vatRates.js";

export const intervals = ["month", "year"] as const;
export type Interval = (typeof intervals)[number];

export interface Quotas {
  mau: number;
  storage_gib: number;
  bandwidth_gib: number;
  build_minutes: number;
  concurrent_builds: number;
}

export interface Plan {
  id: string;
  name: string;
  monthlyCents: number;
  annualCents: number;
  quotas: Quotas;
  features: string[];
}

/** One slice of graduated pricing: units up to `upTo` (null: no bound) cost `microsPerUnit` each. */
export interface Tier {
  upTo: number | null;
  microsPerUnit: bigint;
}

export interface Catalog {
  currency: string;
  plans: Plan[];
  /** Per metric, the graduated tiers of overage, in the metric's billing unit. */
  creditTiers: Record<Metric, Tier[]>;
  trial: { days: number; plan: string };
  pastDueGraceDays: number;
  /** Tax on credit purchases by billing country, in basis points (2000 = 20%); others pay none. */
  taxRates: Readonly<Record<string, number>>;
}

/** What one unit of overage is, per metric, once usage is turned into billing units. */
export const billingUnits: Record<Metric, string> = {
  mau: "MAU",
  storage: "GiB-month",
  bandwidth: "GiB",
  build_minutes: "minute",
};

const ANNUAL_DISCOUNT_PERCENT = 20;

/** Annual price = 12 × monthly × 0.8, rounded half up to the cent. Example: 3,900 → 37,440. */
export function defaultAnnualCents(monthlyCents: number): number {
  return divideRoundingHalfUp(12 * monthlyCents * (100 - ANNUAL_DISCOUNT_PERCENT), 100);
}

/** The per-month equivalent of an annual price, and its discount against twelve monthly payments. */
export function annualTerms(plan: Plan): { monthlyEquivalentCents: number; discountPercent: number } {
  return {
    monthlyEquivalentCents: divideRoundingHalfUp(plan.annualCents, 12),
    discountPercent: 100 - divideRoundingHalfUp(100 * plan.annualCents, 12 * plan.monthlyCents),
  };
}

export function priceCents(plan: Plan, interval: Interval): number {
  return interval === "month" ? plan.monthlyCents : plan.annualCents;
}

export function findPlan(catalog: Catalog, planId: string): Plan | undefined {
  return catalog.plans.find((plan) => plan.id === planId);
}

// ---------------------------------------------------------------------------------------------
// The catalog file: JSON in the API's own vocabulary. Each top-level section is optional and,
// when given, replaces the built-in one whole.

const cents = z.number().int().min(0).max(100_000_000);
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const unitPrice = z.string().refine((text) => parseCredits(text) !== null, {
  message: 'must be a decimal string with at most 6 decimals, like "0.003"',
});

const planFile = z.strictObject({
  id: z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, "must be lower-case letters, digits, - or _"),
  name: z.string().trim().min(1).max(60),
  monthly_cents: cents.min(1),
  annual_cents: cents.min(1).optional(),
  quotas: z.strictObject({
    mau: count,
    storage_gib: count,
    bandwidth_gib: count,
    build_minutes: count,
    concurrent_builds: count,
  }),
  features: z.array(z.string().trim().min(1).max(120)).max(50),
});

/** Graduated tiers as files and the admin API write them: `[{up_to, price}]`, ascending, last unbounded. */
export const tiersFile = z
  .array(z.strictObject({ up_to: count.min(1).nullable(), price: unitPrice }))
  .min(1)
  .superRefine((tiers, ctx) => {
    tiers.forEach((tier, index) => {
      const last = index === tiers.length - 1;
      if (last !== (tier.up_to === null)) {
        ctx.addIssue({
          code: "custom",
          path: [index, "up_to"],
          message: "only the last tier is unbounded (null)",
        });
      }
      const previous = tiers[index - 1]?.up_to;
      if (tier.up_to !== null && previous != null && tier.up_to <= previous) {
        ctx.addIssue({ code: "custom", path: [index, "up_to"], message: "tiers must ascend" });
      }
    });
  });

export const catalogFileSchema = z
  .strictObject({
    currency: z
      .string()
      .regex(/^[a-z]{3}$/, "must be a lower-case ISO 4217 code, like usd")
      .optional(),
    plans: z.array(planFile).min(1).max(20).optional(),
    credit_tiers: z
      .strictObject({ mau: tiersFile, storage: tiersFile, bandwidth: tiersFile, build_minutes: tiersFile })
      .optional(),
    trial: z.strictObject({ days: z.number().int().min(0).max(365), plan: z.string() }).optional(),
    past_due_grace_days: z.number().int().min(0).max(90).optional(),
    tax_rates_basis_points: z
      .record(
        z.string().regex(/^[A-Z]{2}$/, "must be a two-letter country code"),
        z.number().int().min(0).max(10_000),
      )
      .optional(),
  })
  .superRefine((file, ctx) => {
    const ids = (file.plans ?? []).map((plan) => plan.id);
    ids.forEach((id, index) => {
      if (ids.indexOf(id) !== index) {
        ctx.addIssue({ code: "custom", path: ["plans", index, "id"], message: `duplicate plan id ${id}` });
      }
    });
  });

const builtIn: Required<z.output<typeof catalogFileSchema>> = {
  currency: "usd",
  plans: [
    {
      id: "solo",
      name: "Solo",
      monthly_cents: 1_400,
      quotas: { mau: 2_000, storage_gib: 1, bandwidth_gib: 13, build_minutes: 60, concurrent_builds: 2 },
      features: ["Community support"],
    },
    {
      id: "maker",
      name: "Maker",
      monthly_cents: 3_900,
      quotas: { mau: 10_000, storage_gib: 3, bandwidth_gib: 250, build_minutes: 120, concurrent_builds: 3 },
      features: ["Community support", "Priority bug fixes"],
    },
    {
      id: "team",
      name: "Team",
      monthly_cents: 9_900,
      quotas: { mau: 100_000, storage_gib: 6, bandwidth_gib: 500, build_minutes: 600, concurrent_builds: 4 },
      features: ["Community support", "Priority bug fixes", "Priority email support"],
    },
    {
      id: "enterprise",
      name: "Enterprise",
      monthly_cents: 24_900,
      quotas: {
        mau: 1_000_000,
        storage_gib: 12,
        bandwidth_gib: 3_000,
        build_minutes: 20_000,
        concurrent_builds: 6,
      },
      features: [
        "Community support",
        "Priority bug fixes",
        "Priority email support",
        "Custom domain",
        "SOC 2 compliance",
        "SSO",
        "Dedicated support",
        "SLA",
      ],
    },
  ],
  credit_tiers: {
    mau: tiers(
      [1_000_000, "0.003"],
      [3_000_000, "0.0022"],
      [10_000_000, "0.0016"],
      [15_000_000, "0.0014"],
      [25_000_000, "0.0011"],
      [40_000_000, "0.001"],
      [100_000_000, "0.0009"],
      [null, "0.0007"],
    ),
    bandwidth: tiers(
      [1_024, "0.06"],
      [2_048, "0.05"],
      [6_144, "0.0425"],
      [12_288, "0.035"],
      [25_600, "0.0275"],
      [64_512, "0.02"],
      [130_048, "0.015"],
      [null, "0.01"],
    ),
    storage: tiers(
      [1, "0.09"],
      [6, "0.08"],
      [25, "0.065"],
      [63, "0.05"],
      [250, "0.04"],
      [640, "0.03"],
      [1_280, "0.025"],
      [null, "0.021"],
    ),
    build_minutes: tiers(
      [100, "0.08"],
      [500, "0.07"],
      [1_000, "0.06"],
      [5_000, "0.05"],
      [10_000, "0.045"],
      [null, "0.04"],
    ),
  },
  trial: { days: 15, plan: "solo" },
  past_due_grace_days: 7,
  tax_rates_basis_points: { ...EU_STANDARD_VAT_BASIS_POINTS },
};

function tiers(...rows: [number | null, string][]) {
  return rows.map(([up_to, price]) => ({ up_to, price }));
}

export class CatalogError extends Error {}

/** One organization's own tiers for some metrics, as stored and as the admin API takes them. */
export type TierOverrides = Partial<Record<Metric, TiersFile>>;
type TiersFile = z.output<typeof tiersFile>;

/** The tiers an organization is charged and shown: its overrides where set, else the catalog's. */
export function creditTiersFor(catalog: Pick<Catalog, "creditTiers">, overrides: TierOverrides | null) {
  if (!overrides) return catalog.creditTiers;
  const tiersOf = (metric: Metric) => {
    const own = overrides[metric];
    return own ? toTiers(own) : catalog.creditTiers[metric];
  };
  return {
    mau: tiersOf("mau"),
    storage: tiersOf("storage"),
    bandwidth: tiersOf("bandwidth"),
    build_minutes: tiersOf("build_minutes"),
  } satisfies Record<Metric, Tier[]>;
}

function toTiers(rows: TiersFile): Tier[] {
  return rows.map((row) => ({ upTo: row.up_to, microsPerUnit: parseCredits(row.price) ?? 0n }));
}

/**
 * Builds the catalog from a parsed catalog file (or the built-in defaults), with every rule
 * checked: a bad file stops the start with a message naming the field.
 */
export function buildCatalog(input: unknown = {}): Catalog {
  const parsed = catalogFileSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join(".") || "(file)"}: ${issue.message}`,
    );
    throw new CatalogError(problems.join("; "));
  }
  const file = { ...builtIn, ...parsed.data };
  const plans = file.plans.map((plan) => ({
    id: plan.id,
    name: plan.name,
    monthlyCents: plan.monthly_cents,
    annualCents:
      ("annual_cents" in plan ? plan.annual_cents : undefined) ?? defaultAnnualCents(plan.monthly_cents),
    quotas: plan.quotas,
    features: plan.features,
  }));
  if (!plans.some((plan) => plan.id === file.trial.plan)) {
    throw new CatalogError(`trial.plan: no plan has the id ${file.trial.plan}`);
  }
  return {
    currency: file.currency,
    plans,
    creditTiers: {
      mau: toTiers(file.credit_tiers.mau),
      storage: toTiers(file.credit_tiers.storage),
      bandwidth: toTiers(file.credit_tiers.bandwidth),
      build_minutes: toTiers(file.credit_tiers.build_minutes),
    },
    trial: file.trial,
    pastDueGraceDays: file.past_due_grace_days,
    taxRates: file.tax_rates_basis_points,
  };
}
