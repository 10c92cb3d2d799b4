import { describe, expect, it } from "vitest";
import { consoleLinks } from "./consoleLinks.js";
import {
  CREDIT_THRESHOLDS,
  creditNotices,
  highestThreshold,
  memberEmailKinds,
  subscriptionNotices,
  USAGE_THRESHOLDS,
} from "./emails.js";
import { renderEmail } from "./emailTexts.js";
import type { SubscriptionRecord } from "./subscriptions.js";

const links = consoleLinks("https://x.test", "o");

describe("highestThreshold", () => {
  it.each([
    [null, null],
    [49.9, null],
    [50, 50],
    [72, 70],
    [93, 90],
    [102, 100],
    [600, 100],
  ])("%s%% of a quota reaches %s", (percent, expected) => {
    expect(highestThreshold(percent, USAGE_THRESHOLDS)).toBe(expected);
  });

  it("credit thresholds are 50, 75, 90 and 100", () => {
    expect(highestThreshold(80, CREDIT_THRESHOLDS)).toBe(75);
  });
});

describe("creditNotices", () => {
  const base = { orgName: "Acme", cycleStart: "2026-11-01" };

  it("tells the highest share used, keyed by the credits granted", () => {
    const [notice, ...rest] = creditNotices({
      ...base,
      available: 20_000_000n,
      total: 100_000_000n,
      owed: 0n,
    });
    expect(rest).toEqual([]);
    expect(notice?.dedupeKey).toBe("credits_used:75:100000000");
    expect(renderEmail(defined(notice).facts, links).subject).toBe("75% of your credits used");
  });

  it("tells that updates pause when nothing is left and overage is owed", () => {
    const notices = creditNotices({ ...base, available: 0n, total: 1_000_000n, owed: 200_000n });
    expect(notices.map((notice) => notice.dedupeKey)).toEqual([
      "credits_used:100:1000000",
      "credits_exhausted:2026-11-01:1000000",
    ]);
    const exhausted = renderEmail(defined(notices[1]).facts, links);
    expect(exhausted.subject).toBe("Credits exhausted: updates paused");
    expect(exhausted.text).toContain("0.20 credits of this cycle's overage are unpaid");
  });

  it("says nothing under half used, or without credits", () => {
    expect(creditNotices({ ...base, available: 60n, total: 100n, owed: 0n })).toEqual([]);
    expect(creditNotices({ ...base, available: 0n, total: 0n, owed: 0n })).toEqual([]);
  });
});

describe("subscriptionNotices", () => {
  const now = new Date("2026-11-26T12:00:00Z");
  const record: SubscriptionRecord = {
    id: "sbs_1",
    stripeSubscriptionId: "sub_1",
    plan: "maker",
    interval: "year",
    status: "active",
    currentPeriodStart: new Date("2026-11-26T00:00:00Z"),
    currentPeriodEnd: new Date("2027-11-26T00:00:00Z"),
    anchorDay: 26,
    cancelAtPeriodEnd: false,
    pastDueSince: null,
  };
  const notices = (before: SubscriptionRecord | null, after: SubscriptionRecord) =>
    subscriptionNotices({
      before,
      after,
      orgName: "Acme",
      planName: (id) => ({ maker: "Maker", team: "Team" })[id] ?? id,
      graceDays: 7,
      now,
    }).map((notice) => renderEmail(notice.facts, links).subject);

  it("tells of a new subscription and of each change of plan or interval", () => {
    expect(notices(null, record)).toEqual(["Your plan is now Maker (yearly)"]);
    expect(notices(record, { ...record, plan: "team", interval: "month" })).toEqual([
      "Your plan is now Team (monthly)",
    ]);
  });

  it("tells of nothing when nothing the customer cares about changed", () => {
    expect(notices(record, { ...record, currentPeriodEnd: new Date("2027-11-27T00:00:00Z") })).toEqual([]);
  });

  it("tells of a failed renewal with the grace period's end, and of a cancellation", () => {
    const pastDue = { ...record, status: "past_due" as const, pastDueSince: now };
    const [failed] = subscriptionNotices({
      before: record,
      after: pastDue,
      orgName: "Acme",
      planName: () => "Maker",
      graceDays: 7,
      now,
    });
    expect(failed?.facts).toMatchObject({
      kind: "payment_failed",
      grace_ends_at: "2026-12-03T12:00:00.000Z",
    });
    expect(renderEmail(defined(failed).facts, links).text).toContain("keeps serving until 3 December 2026");
    expect(notices(record, { ...record, cancelAtPeriodEnd: true })).toEqual(["Your Maker plan is canceled"]);
    expect(
      notices(
        { ...record, cancelAtPeriodEnd: true },
        { ...record, status: "canceled", cancelAtPeriodEnd: true },
      ),
    ).toEqual([]);
  });
});

describe("renderEmail", () => {
  it("names the metric and the percent in a quota email's subject, with the figures and links in its body", () => {
    const email = renderEmail(
      {
        kind: "usage_quota",
        org_name: "Acme",
        metric: "bandwidth",
        threshold: 70,
        percent: 72,
        used: 180,
        included: 250,
        unit: "GiB",
        plan_name: "Maker",
        on_trial: false,
        quota_reached_on: "2026-11-28",
        cycle_end: "2026-12-01",
        credits_available: "12.500000",
      },
      links,
    );
    expect(email.subject).toBe("Bandwidth at 70% of your Maker plan");
    expect(email.text).toContain(
      "Acme has used 72% of the bandwidth included in its Maker plan: 180 of 250 GiB.",
    );
    expect(email.text).toContain("At the current rate the quota is reached on 28 November 2026.");
    expect(email.text).toContain("12.50 available");
    expect(email.text).toContain(links.plans);
    expect(email.html).toContain(`<a href="${links.usage.replace("&", "&#38;")}">See usage</a>`);
  });

  it("escapes what the customer wrote in the HTML body", () => {
    const email = renderEmail(
      {
        kind: "contact_sales",
        org_name: "A<b>",
        org_id: "org_1",
        from_name: "Ann",
        from_email: "a@x.test",
        message: "<script>",
      },
      links,
    );
    expect(email.html).not.toContain("<script>");
    expect(email.html).toContain("&#60;script&#62;");
  });

  it("asks a new billing email to confirm itself by the link, naming the organization and who set it", () => {
    const email = renderEmail(
      {
        kind: "billing_email_confirmation",
        org_name: "Acme",
        email: "billing@acme.test",
        set_by: "Ann",
        token: "org_1.secret",
        expires_at: "2026-12-03T10:00:00.000Z",
      },
      links,
    );
    expect(email.subject).toBe("Confirm billing@acme.test as the billing email of Acme");
    expect(email.text).toContain("Ann set billing@acme.test as the billing email of Acme on Meterline.");
    expect(email.text).toContain("The link works once, until 3 December 2026.");
    expect(email.text).toContain(
      "Confirm this address: https://x.test/confirm-billing-email?token=org_1.secret",
    );
  });

  it("tells support what a mismatched payment asked and paid, and what to do", () => {
    const email = renderEmail(
      {
        kind: "credit_payment_mismatch",
        org_name: "Acme",
        org_id: "org_1",
        session_id: "cs_1",
        payment_intent_id: "pi_1",
        asked: "100 credits at 1.00 USD each: 100.00 USD plus tax",
        paid: "quantity 100 at 1.00 USD: subtotal 5.00 USD, total 6.00 USD",
        problem: "the subtotal is 5.00 USD, not 100.00 USD for 100 credits",
      },
      links,
    );
    expect(email.subject).toBe(
      "Payment needs support: Acme's credit purchase was paid for other amounts than asked",
    );
    expect(email.text).toContain("Checkout Session cs_1 of Acme (org_1) was paid");
    expect(email.text).toContain("Asked: 100 credits at 1.00 USD each: 100.00 USD plus tax.");
    expect(email.text).toContain("Paid: quantity 100 at 1.00 USD: subtotal 5.00 USD, total 6.00 USD.");
    expect(email.text).toContain("Refund payment pi_1 in Stripe, or grant the credits by hand.");
  });
});

describe("memberEmailKinds", () => {
  it("leaves out what goes to one address: support's requests and a billing email's confirmation", () => {
    expect(memberEmailKinds).not.toContain("contact_sales");
    expect(memberEmailKinds).not.toContain("billing_email_confirmation");
    expect(memberEmailKinds).not.toContain("credit_payment_mismatch");
    expect(memberEmailKinds).toContain("purchase_receipt");
  });
});

function defined<T>(value: T | undefined): T {
  if (value === undefined) throw new Error("expected a value");
  return value;
}
