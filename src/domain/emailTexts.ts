import type { ConsoleLinks } from "./consoleLinks.js";
import type { EmailFacts } from "./emails.js";
import { formatCents, readableCredits } from "./money.js";
import type { Metric } from "./usageEvents.js";

// How each email is written from its facts: subject, plain text and HTML.

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
