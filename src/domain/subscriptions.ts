import type { Catalog, Interval } from "./catalog.js";

const DAY_MS = 86_400_000;

export type StripeSubscriptionStatus =
  | "incomplete"
  | "incomplete_expired"
  | "trialing"
  | "active"
  | "past_due"
  | "canceled"
  | "unpaid"
  | "paused";

/** An organization's Stripe subscription, as last read from Stripe. */
export interface SubscriptionRecord {
  id: string;
  stripeSubscriptionId: string;
  plan: string;
  interval: Interval;
  status: StripeSubscriptionStatus;
  currentPeriodStart: Date;
  currentPeriodEnd: Date;
  anchorDay: number;
  cancelAtPeriodEnd: boolean;
  pastDueSince: Date | null;
}

/**
 * What an organization is entitled to right now: its subscription while it serves (active,
 * trialing, or past due inside the grace period), else its trial while that lasts, else nothing.
 * `plan` is null when no plan's quotas apply.
 */
export interface PlanStanding {
  source: "subscription" | "trial" | "none";
  subscription: SubscriptionRecord | null;
  plan: string | null;
  interval: Interval | null;
  status: StripeSubscriptionStatus | "none";
  currentPeriodStart: Date | null;
  currentPeriodEnd: Date | null;
  cancelAtPeriodEnd: boolean;
  trialEndsAt: Date;
  /** When a past-due subscription stops serving, unless paid. */
  graceEndsAt: Date | null;
}

const liveStatuses: ReadonlySet<StripeSubscriptionStatus> = new Set([
  "active",
  "trialing",
  "past_due",
  "unpaid",
]);

/** A subscription in one of these states is the organization's current one: no second checkout. */
export function isLive(status: StripeSubscriptionStatus): boolean {
  return liveStatuses.has(status);
}

/**
 * Decides an organization's standing. Examples (grace 7 days): active → its plan; past due for
 * 3 days → its plan, grace ending in 4; past due for 8 days → the trial if it still runs, else
 * no plan; canceled during the trial → the trial's plan until the trial ends.
 */
export function planStanding({
  subscription,
  trialStartedAt,
  trialEndsAt,
  catalog,
  now,
}: {
  subscription: SubscriptionRecord | null;
  trialStartedAt: Date;
  trialEndsAt: Date;
  catalog: Pick<Catalog, "trial" | "pastDueGraceDays">;
  now: Date;
}): PlanStanding {
  const graceEndsAt =
    subscription?.status === "past_due" && subscription.pastDueSince
      ? new Date(subscription.pastDueSince.getTime() + catalog.pastDueGraceDays * DAY_MS)
      : null;
  const serving =
    subscription !== null &&
    (subscription.status === "active" ||
      subscription.status === "trialing" ||
      (graceEndsAt !== null && now < graceEndsAt));
  if (subscription && serving) {
    return {
      source: "subscription",
      subscription,
      plan: subscription.plan,
      interval: subscription.interval,
      status: subscription.status,
      currentPeriodStart: subscription.currentPeriodStart,
      currentPeriodEnd: subscription.currentPeriodEnd,
      cancelAtPeriodEnd: subscription.cancelAtPeriodEnd,
      trialEndsAt,
      graceEndsAt,
    };
  }
  if (now < trialEndsAt) {
    return {
      source: "trial",
      subscription,
      plan: catalog.trial.plan,
      interval: null,
      status: "trialing",
      currentPeriodStart: trialStartedAt,
      currentPeriodEnd: trialEndsAt,
      cancelAtPeriodEnd: false,
      trialEndsAt,
      graceEndsAt: null,
    };
  }
  return {
    source: "none",
    subscription,
    plan: null,
    interval: subscription?.interval ?? null,
    status: subscription?.status ?? "none",
    currentPeriodStart: subscription?.currentPeriodStart ?? null,
    currentPeriodEnd: subscription?.currentPeriodEnd ?? null,
    cancelAtPeriodEnd: subscription?.cancelAtPeriodEnd ?? false,
    trialEndsAt,
    graceEndsAt,
  };
}

/** The day of month a billing cycle starts on, in UTC, from the subscription's anchor. */
export function anchorDayOf(anchor: Date): number {
  return anchor.getUTCDate();
}
