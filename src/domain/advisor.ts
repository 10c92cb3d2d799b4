import { annualTerms, type Interval, intervals, type Plan, type Tier } from "./catalog.js";
import type { Cycle } from "./cycles.js";
import { type DayUse, type GrowingMetric, growingMetrics } from "./forecast.js";
import { formatCredits, formatUsd, MICROS_PER_CENT, readableCredits } from "./money.js";
import { compare, type Quantity, scale, toNumber } from "./quantity.js";
import { includedQuantities, measureAgainst } from "./usage.js";
import { type Metric, metrics } from "./usageEvents.js";

/** What one way of paying would cost this cycle, in micro-credits (1 credit = 1 USD). */
export interface PlanCost {
  plan: string;
  interval: Interval;
  /** The plan's price for one month: monthly, or the per-month equivalent of the annual price. */
  baseMicros: bigint;
  /** The projected overage at the organization's tiers, paid from credits. */
  overageMicros: bigint;
  totalMicros: bigint;
}

/** Usage far above what came before: paid better with credits than with a bigger plan. */
export type Spike =
  | { metric: GrowingMetric; kind: "above_history"; projected: Quantity; previousHighest: Quantity }
  | { metric: GrowingMetric; kind: "one_day"; day: string; percent: number };

/** How many previous cycles a spike is measured against. */
export const HISTORY_CYCLES = 3;
/** This cycle is a spike above the previous cycles when its projection is more than this many times their highest. */
export const SPIKE_FACTOR = 2n;
/** The weekly email recommends only options that cost at least this much less than the current one. */
export const ADVICE_MIN_SAVING_PERCENT = 10;

export interface Advice {
  options: PlanCost[];
  /** What the organization pays now (a trial: its plan billed monthly, as it continues); null without a plan. */
  current: (PlanCost & { trial: boolean }) | null;
  recommended: { plan: string; interval: Interval; reason: string };
  spike: Spike | null;
  /** How much less the recommendation costs than the current option, in whole percent. */
  savingPercent: number;
}

const metricWords: Record<Metric, string> = {
  mau: "MAU",
  bandwidth: "bandwidth",
  storage: "storage",
  build_minutes: "build minutes",
};

/**
 * Prices every plan, monthly and yearly (per month), for the cycle's projected usage at the
 * organization's own tiers, and recommends the cheapest. When the usage that makes the
 * current plan cost more is a spike (see `findSpike`), credits are the better buy: the
 * recommendation stays on the current plan. Advice only: nothing here changes a plan.
 *
 * Example: a Solo trial projected at 12,000 MAU costs 14.00 + 30 credits = 44.00 on Solo,
 * 39.00 on Maker, 31.20 a month on Maker billed yearly: Maker, yearly, is recommended.
 */
export function advisePlans({
  plans,
  tiers,
  projected,
  current,
  history,
  daily,
  raw,
  cycle,
  now,
}: {
  plans: Plan[];
  tiers: Record<Metric, Tier[]>;
  /** Each metric's projected use at the cycle's end, in billing units. */
  projected: Record<Metric, Quantity>;
  current: { plan: string; interval: Interval | null; trial: boolean } | null;
  /** The previous cycles' use, most recent first, in billing units. */
  history: Record<GrowingMetric, Quantity[]>;
  /** This cycle's days in raw units, and its use so far in the same units. */
  daily: Record<GrowingMetric, DayUse[]>;
  raw: Record<GrowingMetric, bigint>;
  cycle: Cycle;
  now: Date;
}): Advice {
  const options = plans.flatMap((plan) =>
    intervals.map((interval) => priceOption({ plan, interval, tiers, projected })),
  );
  const currentPlan = current ? plans.find((plan) => plan.id === current.plan) : undefined;
  const currentCost =
    current && currentPlan
      ? {
          ...priceOption({ plan: currentPlan, interval: current.interval ?? "month", tiers, projected }),
          trial: current.trial,
        }
      : null;
  const drivers = growingMetrics.filter((metric) =>
    currentPlan
      ? compare(projected[metric], includedQuantities(currentPlan.quotas)[metric]) > 0
      : projected[metric].numerator > 0n,
  );
  const spike = findSpike({ metrics: drivers, projected, history, daily, raw, cycle, now });
  const cheapest = cheapestOf(options);
  const chosen = spike
    ? (currentCost ?? cheapestOf(options.filter((o) => o.interval === "month")))
    : cheapest;
  const name = (id: string) => plans.find((plan) => plan.id === id)?.name ?? id;
  return {
    options,
    current: currentCost,
    recommended: {
      plan: chosen.plan,
      interval: chosen.interval,
      reason: reasonFor({ chosen, cheapest, current: currentCost, spike, options, name }),
    },
    spike,
    savingPercent:
      currentCost && currentCost.totalMicros > 0n
        ? Number(((currentCost.totalMicros - chosen.totalMicros) * 100n) / currentCost.totalMicros)
        : 0,
  };
}

/**
 * Whether the advice should be mailed: another plan (not just another interval) costs at
 * least `ADVICE_MIN_SAVING_PERCENT` less than what the organization pays now.
 */
export function isWorthMailing(advice: Advice): boolean {
  return (
    advice.current !== null &&
    advice.recommended.plan !== advice.current.plan &&
    advice.savingPercent >= ADVICE_MIN_SAVING_PERCENT
  );
}

function priceOption({
  plan,
  interval,
  tiers,
  projected,
}: {
  plan: Plan;
  interval: Interval;
  tiers: Record<Metric, Tier[]>;
  projected: Record<Metric, Quantity>;
}): PlanCost {
  const cents = interval === "month" ? plan.monthlyCents : annualTerms(plan).monthlyEquivalentCents;
  const baseMicros = BigInt(cents) * MICROS_PER_CENT;
  const included = includedQuantities(plan.quotas);
  const overageMicros = metrics.reduce(
    (total, metric) =>
      total +
      measureAgainst({ used: projected[metric], included: included[metric], tiers: tiers[metric] })
        .overageCostMicros,
    0n,
  );
  return { plan: plan.id, interval, baseMicros, overageMicros, totalMicros: baseMicros + overageMicros };
}

/** The cheapest option; on a tie the first, so monthly before yearly and smaller plans first. */
function cheapestOf(options: PlanCost[]): PlanCost {
  const [first, ...rest] = options;
  if (!first) throw new Error("the catalog has no plan to advise");
  return rest.reduce((best, option) => (option.totalMicros < best.totalMicros ? option : best), first);
}

/**
 * The first metric, among those that cost overage, whose use this cycle is a spike: either its
 * projection is more than `SPIKE_FACTOR` times the highest of the previous cycles (when they
 * had any), or a single complete day holds more than half of the cycle's use so far (for MAU,
 * a day after the first, which holds every returning device).
 */
export function findSpike({
  metrics: candidates,
  projected,
  history,
  daily,
  raw,
  cycle,
  now,
}: {
  metrics: readonly GrowingMetric[];
  projected: Record<Metric, Quantity>;
  history: Record<GrowingMetric, Quantity[]>;
  daily: Record<GrowingMetric, DayUse[]>;
  raw: Record<GrowingMetric, bigint>;
  cycle: Cycle;
  now: Date;
}): Spike | null {
  const today = now.toISOString().slice(0, 10);
  const firstDay = cycle.start.toISOString().slice(0, 10);
  for (const metric of candidates) {
    const previous = history[metric];
    const previousHighest = previous.reduce<Quantity | null>(
      (highest, use) => (highest === null || compare(use, highest) > 0 ? use : highest),
      null,
    );
    if (
      previousHighest !== null &&
      previousHighest.numerator > 0n &&
      compare(projected[metric], scale(previousHighest, SPIKE_FACTOR, 1n)) > 0
    ) {
      return { metric, kind: "above_history", projected: projected[metric], previousHighest };
    }
    const total = raw[metric];
    if (total === 0n) continue;
    for (const point of daily[metric]) {
      const complete = point.day < today && (metric !== "mau" || point.day !== firstDay);
      if (complete && point.value * 2n > total) {
        return { metric, kind: "one_day", day: point.day, percent: Number((point.value * 100n) / total) };
      }
    }
  }
  return null;
}

function reasonFor({
  chosen,
  cheapest,
  current,
  spike,
  options,
  name,
}: {
  chosen: PlanCost;
  cheapest: PlanCost;
  current: (PlanCost & { trial: boolean }) | null;
  spike: Spike | null;
  options: PlanCost[];
  name: (id: string) => string;
}): string {
  const usd = (micros: bigint) => `${formatUsd(micros)} USD`;
  const label = (cost: PlanCost & { trial?: boolean }) =>
    cost.trial ? `the ${name(cost.plan)} trial` : name(cost.plan);
  if (spike) {
    const what =
      spike.kind === "one_day"
        ? `${longDay(spike.day)} alone holds ${spike.percent}% of this cycle's ${metricWords[spike.metric]}`
        : `${number(spike.projected)} projected this cycle against at most ${number(spike.previousHighest)} in the previous cycles`;
    const instead =
      cheapest !== chosen && cheapest.totalMicros < chosen.totalMicros
        ? `, though ${name(cheapest.plan)} would cost ${usd(cheapest.totalMicros)} a month${cheapest.interval === "year" ? " billed yearly" : ""} if it lasted`
        : "";
    return `This cycle's ${metricWords[spike.metric]} looks like a spike (${what}): credits pay for it on ${name(chosen.plan)}, ${usd(chosen.totalMicros)} this cycle, without committing to a bigger plan${instead}.`;
  }
  const withOverage = (cost: PlanCost) =>
    cost.overageMicros > 0n
      ? ` with ${readableCredits(formatCredits(cost.overageMicros))} credits of overage`
      : "";
  const priced = (cost: PlanCost) => {
    const monthly = options.find((option) => option.plan === cost.plan && option.interval === "month");
    return cost.interval === "year" && monthly
      ? `${usd(cost.totalMicros)} a month billed yearly (${formatUsd(monthly.totalMicros)} monthly)${withOverage(cost)}`
      : `${usd(cost.totalMicros)} a month${withOverage(cost)}`;
  };
  if (current && chosen.plan === current.plan && chosen.interval === current.interval) {
    const plan = label(current);
    return `${plan.charAt(0).toUpperCase()}${plan.slice(1)} already costs least for the projected usage: ${priced(current)}.`;
  }
  const fits =
    chosen.overageMicros === 0n ? "covers the projected usage" : "costs least for the projected usage";
  const against = current
    ? `, against ${usd(current.totalMicros)} on ${label(current)}${withOverage(current)}`
    : "";
  if (current && chosen.plan === current.plan) {
    return `${name(chosen.plan)} billed ${chosen.interval === "year" ? "yearly" : "monthly"} costs ${usd(chosen.totalMicros)} a month${against}.`;
  }
  return `${name(chosen.plan)} ${fits}: ${priced(chosen)}${against}.`;
}

function number(quantity: Quantity): string {
  return toNumber(quantity).toLocaleString("en-US", { maximumFractionDigits: 2 });
}

/** "2026-11-20" → "20 November". */
function longDay(day: string): string {
  return new Date(`${day}T00:00:00Z`).toLocaleDateString("en-GB", {
    day: "numeric",
    month: "long",
    timeZone: "UTC",
  });
}
