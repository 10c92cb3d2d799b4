import { formatCredits } from "./money.js";
import { isLive, type SubscriptionRecord } from "./subscriptions.js";
import type { Metric } from "./usageEvents.js";

/**
 * The emails Meterline sends, as pure data: the facts a change leaves in the outbox and the rules
 * deciding which emails a change calls for (thresholds, notices). How each is written is in
 * `emailTexts.ts`.
 */

export const emailKinds = [
  "usage_quota",
  "credits_used",
  "credits_exhausted",
  "credits_expiring",
  "purchase_receipt",
  "plan_changed",
  "payment_failed",
  "subscription_canceled",
  "plan_advice",
  "contact_sales",
  "billing_email_confirmation",
  "credit_payment_mismatch",
] as const;
export type EmailKind = (typeof emailKinds)[number];

/**
 * Kinds sent to one address rather than the organization's billing contacts: a custom-plan
 * request and a purchase that needs support go to support, a confirmation link to the address
 * it confirms.
 */
const addressedKinds = ["contact_sales", "billing_email_confirmation", "credit_payment_mismatch"] as const;

/** The kinds a member receives and may opt out of. */
export type MemberEmailKind = Exclude<EmailKind, (typeof addressedKinds)[number]>;
export const memberEmailKinds = emailKinds.filter((kind): kind is MemberEmailKind =>
  (addressedKinds as readonly EmailKind[]).every((addressed) => addressed !== kind),
);

export const emailStatuses = ["pending", "sending", "sent", "failed", "unconfirmed"] as const;
export type EmailStatus = (typeof emailStatuses)[number];

export const USAGE_THRESHOLDS = [50, 70, 90, 100] as const;
export const CREDIT_THRESHOLDS = [50, 75, 90, 100] as const;

/**
 * The highest threshold `percent` has reached, or null below the first. Usage only grows within
 * a cycle, so one email for the highest threshold reached stands for those it jumped over.
 */
export function highestThreshold(percent: number | null, thresholds: readonly number[]): number | null {
  if (percent === null) return null;
  let reached: number | null = null;
  for (const threshold of thresholds) if (percent >= threshold) reached = threshold;
  return reached;
}

interface OrgFacts {
  org_name: string;
}

/** What an email tells, written with the change that causes it; amounts are display strings. */
export type EmailFacts = OrgFacts &
  (
    | {
        kind: "usage_quota";
        metric: Metric;
        threshold: number;
        percent: number;
        used: number;
        included: number;
        unit: string;
        plan_name: string;
        on_trial: boolean;
        /** YYYY-MM-DD at the cycle's rate so far (perhaps after the cycle ends); null once reached. */
        quota_reached_on: string | null;
        cycle_end: string;
        credits_available: string;
      }
    | { kind: "credits_used"; threshold: number; used: string; total: string; available: string }
    | { kind: "credits_exhausted"; owed: string }
    | { kind: "credits_expiring"; credits: string; expires_at: string }
    | {
        kind: "purchase_receipt";
        credits: string;
        subtotal_cents: number;
        tax_cents: number;
        total_cents: number;
        currency: string;
        expires_at: string;
      }
    | { kind: "plan_changed"; plan_name: string; interval: string; previous_plan_name: string | null }
    | { kind: "payment_failed"; plan_name: string; grace_ends_at: string | null }
    | { kind: "subscription_canceled"; plan_name: string; ends_at: string }
    | {
        kind: "plan_advice";
        plan_name: string;
        interval: string;
        current_plan_name: string;
        on_trial: boolean;
        saving_percent: number;
        /** The advisor's one line, with the figures. */
        reason: string;
      }
    | { kind: "contact_sales"; org_id: string; from_name: string; from_email: string; message: string }
    | {
        kind: "billing_email_confirmation";
        email: string;
        /** Who set the address, by name. */
        set_by: string;
        /** The link's secret; the outbox keeps it until sent, the database only its hash. */
        token: string;
        expires_at: string;
      }
    | {
        kind: "credit_payment_mismatch";
        org_id: string;
        session_id: string;
        payment_intent_id: string | null;
        /** What Meterline asked and what Stripe says was paid, as display text. */
        asked: string;
        paid: string;
        problem: string;
      }
  );

/** An email a change calls for: what it says, and the key that makes it exist once. */
export interface Notice {
  dedupeKey: string;
  facts: EmailFacts;
}

/**
 * What a subscription's change tells the customer, from the record before and after a sync:
 * a new plan or interval, a renewal that failed (once per period), a cancellation. The caller
 * holds the organization's lock, so each change is seen once; `now` keys a plan change, which
 * can happen to the same plan twice in one period (team → solo → team).
 */
export function subscriptionNotices({
  before,
  after,
  orgName,
  planName,
  graceDays,
  now,
}: {
  before: SubscriptionRecord | null;
  after: SubscriptionRecord;
  orgName: string;
  planName: (planId: string) => string;
  graceDays: number;
  now: Date;
}): Notice[] {
  const notices: Notice[] = [];
  const same = before?.stripeSubscriptionId === after.stripeSubscriptionId ? before : null;
  const sub = after.stripeSubscriptionId;
  const plan_name = planName(after.plan);
  if (
    isLive(after.status) &&
    (!same || !isLive(same.status) || same.plan !== after.plan || same.interval !== after.interval)
  ) {
    notices.push({
      dedupeKey: `plan_changed:${sub}:${after.plan}:${after.interval}:${now.getTime()}`,
      facts: {
        kind: "plan_changed",
        org_name: orgName,
        plan_name,
        interval: after.interval,
        previous_plan_name: before && isLive(before.status) ? planName(before.plan) : null,
      },
    });
  }
  if (after.status === "past_due" && same?.status !== "past_due") {
    const since = after.pastDueSince ?? now;
    notices.push({
      dedupeKey: `payment_failed:${sub}:${after.currentPeriodStart.toISOString()}`,
      facts: {
        kind: "payment_failed",
        org_name: orgName,
        plan_name,
        grace_ends_at: new Date(since.getTime() + graceDays * 86_400_000).toISOString(),
      },
    });
  }
  const canceling = after.cancelAtPeriodEnd && !same?.cancelAtPeriodEnd && isLive(after.status);
  const ended =
    after.status === "canceled" && same !== null && same.status !== "canceled" && !same.cancelAtPeriodEnd;
  if (canceling || ended) {
    notices.push({
      dedupeKey: `subscription_canceled:${sub}:${after.currentPeriodEnd.toISOString()}`,
      facts: {
        kind: "subscription_canceled",
        org_name: orgName,
        plan_name,
        ends_at: (ended ? now : after.currentPeriodEnd).toISOString(),
      },
    });
  }
  return notices;
}

/**
 * What the credits tell after overage was charged: the highest share of the granted credits used
 * (keyed by the credits granted, so more credits start the count again), and, when nothing is
 * left while overage is owed, that updates are paused (once per cycle and grant total).
 *
 * Example: 100 granted, 20 left → "80% used" is the 75% threshold.
 */
export function creditNotices({
  available,
  total,
  owed,
  orgName,
  cycleStart,
}: {
  available: bigint;
  total: bigint;
  owed: bigint;
  orgName: string;
  cycleStart: string;
}): Notice[] {
  const notices: Notice[] = [];
  if (total > 0n) {
    const used = total - available;
    const threshold = highestThreshold(Number((used * 1000n) / total) / 10, CREDIT_THRESHOLDS);
    if (threshold !== null) {
      notices.push({
        dedupeKey: `credits_used:${threshold}:${total}`,
        facts: {
          kind: "credits_used",
          org_name: orgName,
          threshold,
          used: formatCredits(used),
          total: formatCredits(total),
          available: formatCredits(available),
        },
      });
    }
  }
  if (available === 0n && owed > 0n) {
    notices.push({
      dedupeKey: `credits_exhausted:${cycleStart}:${total}`,
      facts: { kind: "credits_exhausted", org_name: orgName, owed: formatCredits(owed) },
    });
  }
  return notices;
}
