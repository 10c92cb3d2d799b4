import type { ConsoleLinks } from "./consoleLinks.js";
import { formatCents, formatCredits, readableCredits } from "./money.js";
import { isLive, type SubscriptionRecord } from "./subscriptions.js";
import type { Metric } from "./usageEvents.js";

/**
 * The emails Meterline sends, as pure data: the facts a change leaves in the outbox, the
 * thresholds that trigger them, and how each is written (subject, plain text, HTML).
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

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

export const metricNames: Record<Metric, string> = {
  mau: "Monthly active users",
  bandwidth: "Bandwidth",
  storage: "Storage",
  build_minutes: "Build minutes",
};

/**
 * Writes an email from its facts. `links` are the console's pages for the organization.
 *
 * Example: bandwidth at 72% of a Maker plan's 250 GiB gives the subject "Bandwidth at 70% of
 * your Maker plan" and a body with 180 of 250 GiB used and the day 250 is reached at this rate.
 */
export function renderEmail(facts: EmailFacts, links: ConsoleLinks) {
  const { subject, lines, link } = compose(facts, links);
  const text = [...lines, "", ...(link ? [`${link.label}: ${link.url}`] : []), "", "— Meterline"].join("\n");
  const html = [
    '<!doctype html><html><body style="font-family:system-ui,sans-serif;line-height:1.5">',
    ...lines.map((line) => (line ? `<p>${escapeHtml(line)}</p>` : "")),
    link ? `<p><a href="${escapeHtml(link.url)}">${escapeHtml(link.label)}</a></p>` : "",
    '<p style="color:#666">— Meterline</p></body></html>',
  ].join("");
  return { subject, text, html } satisfies RenderedEmail;
}

function compose(
  facts: EmailFacts,
  links: ConsoleLinks,
): { subject: string; lines: string[]; link: { label: string; url: string } | null } {
  const org = facts.org_name;
  switch (facts.kind) {
    case "usage_quota": {
      const name = metricNames[facts.metric];
      const quota = `${facts.plan_name} ${facts.on_trial ? "trial" : "plan"}`;
      const forecast = facts.quota_reached_on
        ? `At the current rate the quota is reached on ${longDate(facts.quota_reached_on)}${facts.quota_reached_on > facts.cycle_end ? `, after this cycle ends on ${longDate(facts.cycle_end)}` : ""}.`
        : facts.percent >= 100
          ? "The quota is reached."
          : facts.metric === "storage"
            ? ""
            : `At the current rate the quota lasts until the cycle ends on ${longDate(facts.cycle_end)}.`;
      return {
        subject: `${name} at ${facts.threshold}% of your ${quota}`,
        lines: [
          `${org} has used ${facts.percent}% of the ${name.toLowerCase()} included in its ${quota}: ${number(facts.used)} of ${number(facts.included)} ${facts.unit}.`,
          ...(forecast ? [forecast] : []),
          facts.percent >= 100
            ? `Usage beyond the quota is paid from credits (${readableCredits(facts.credits_available)} available); without credits, updates pause until the next cycle.`
            : `Beyond the quota, usage is paid from credits (${readableCredits(facts.credits_available)} available), or a larger plan includes more.`,
          `Plans: ${links.plans}`,
        ],
        link: { label: "See usage", url: links.usage },
      };
    }
    case "credits_used":
      return {
        subject: `${facts.threshold}% of your credits used`,
        lines: [
          `${org} has used ${readableCredits(facts.used)} of its ${readableCredits(facts.total)} credits; ${readableCredits(facts.available)} are left.`,
          "Overage is paid from credits automatically; when they run out, updates pause.",
        ],
        link: { label: "Buy credits", url: links.credits },
      };
    case "credits_exhausted":
      return {
        subject: "Credits exhausted: updates paused",
        lines: [
          `${org} has no credits left, and ${readableCredits(facts.owed)} credits of this cycle's overage are unpaid.`,
          "Updates are paused until credits arrive or the next cycle begins; what is owed is taken first.",
          `Plans: ${links.plans}`,
        ],
        link: { label: "Buy credits", url: links.credits },
      };
    case "credits_expiring":
      return {
        subject: `${readableCredits(facts.credits)} credits expire on ${longDate(facts.expires_at)}`,
        lines: [
          `${readableCredits(facts.credits)} of ${org}'s credits expire on ${longDate(facts.expires_at)} if unused.`,
        ],
        link: { label: "See credits", url: links.credits },
      };
    case "purchase_receipt": {
      const money = (cents: number) => formatCents(cents, facts.currency);
      return {
        subject: `Receipt: ${readableCredits(facts.credits)} credits for ${money(facts.total_cents)}`,
        lines: [
          `${org} bought ${readableCredits(facts.credits)} credits.`,
          `Subtotal ${money(facts.subtotal_cents)}, tax ${money(facts.tax_cents)}, total ${money(facts.total_cents)}.`,
          `They expire on ${longDate(facts.expires_at)}.`,
        ],
        link: { label: "See credits", url: links.credits },
      };
    }
    case "plan_changed":
      return {
        subject: `Your plan is now ${facts.plan_name} (${facts.interval === "year" ? "yearly" : "monthly"})`,
        lines: [
          facts.previous_plan_name
            ? `${org} moved from ${facts.previous_plan_name} to ${facts.plan_name}, billed ${facts.interval === "year" ? "yearly" : "monthly"}.`
            : `${org} is subscribed to ${facts.plan_name}, billed ${facts.interval === "year" ? "yearly" : "monthly"}.`,
          "Your plan changes only when you change it.",
        ],
        link: { label: "See plans", url: links.plans },
      };
    case "payment_failed":
      return {
        subject: `Payment failed for your ${facts.plan_name} plan`,
        lines: [
          `The renewal payment of ${org}'s ${facts.plan_name} plan failed.`,
          facts.grace_ends_at
            ? `The plan keeps serving until ${longDate(facts.grace_ends_at)}; update the card before then.`
            : "Update the card to keep the plan.",
        ],
        link: { label: "See plans", url: links.plans },
      };
    case "subscription_canceled":
      return {
        subject: `Your ${facts.plan_name} plan is canceled`,
        lines: [`${org}'s ${facts.plan_name} plan ends on ${longDate(facts.ends_at)} and will not renew.`],
        link: { label: "See plans", url: links.plans },
      };
    case "plan_advice": {
      const current = `${facts.current_plan_name} ${facts.on_trial ? "trial" : "plan"}`;
      return {
        subject: `${facts.plan_name} would cost ${facts.saving_percent}% less than your ${current}`,
        lines: [
          `For the usage ${org} is projected to have this cycle, ${facts.plan_name} billed ${facts.interval === "year" ? "yearly" : "monthly"} costs ${facts.saving_percent}% less than its ${current}.`,
          facts.reason,
          "This is advice only: your plan never changes unless you change it.",
          `Every option, with its figures, is on the Usage page: ${links.usage}`,
        ],
        link: { label: "See plans", url: links.plans },
      };
    }
    case "contact_sales":
      return {
        subject: `Custom plan request from ${org}`,
        lines: [
          `${facts.from_name} <${facts.from_email}> asks for a custom plan for ${org} (${facts.org_id}):`,
          "",
          ...facts.message.split(/\r?\n/),
        ],
        link: null,
      };
    case "billing_email_confirmation":
      return {
        subject: `Confirm ${facts.email} as the billing email of ${org}`,
        lines: [
          `${facts.set_by} set ${facts.email} as the billing email of ${org} on Meterline.`,
          `Open the link below to confirm it: ${org}'s receipts and its usage, credit and payment emails then come here too. The link works once, until ${longDate(facts.expires_at)}.`,
          "If you did not expect this, ignore this email: nothing more is sent to this address unless it is confirmed.",
        ],
        link: { label: "Confirm this address", url: links.confirmBillingEmail(facts.token) },
      };
    case "credit_payment_mismatch":
      return {
        subject: `Payment needs support: ${org}'s credit purchase was paid for other amounts than asked`,
        lines: [
          `Stripe says Checkout Session ${facts.session_id} of ${org} (${facts.org_id}) was paid, but not for what Meterline asked, so no credits were granted.`,
          `Asked: ${facts.asked}.`,
          `Paid: ${facts.paid}.`,
          `Problem: ${facts.problem}.`,
          facts.payment_intent_id
            ? `Refund payment ${facts.payment_intent_id} in Stripe, or grant the credits by hand.`
            : "Refund the payment in Stripe, or grant the credits by hand.",
        ],
        link: null,
      };
  }
}

/** "2026-12-03" or an ISO time → "3 December 2026" (UTC). */
function longDate(iso: string): string {
  return new Date(iso.length === 10 ? `${iso}T00:00:00Z` : iso).toLocaleDateString("en-GB", {
    day: "numeric",
    month: "long",
    year: "numeric",
    timeZone: "UTC",
  });
}

function number(value: number): string {
  return value.toLocaleString("en-US", { maximumFractionDigits: 2 });
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
