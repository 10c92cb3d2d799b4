import { describe, expect, it } from "vitest";
import { buildCatalog } from "./catalog.js";
import { anchorDayOf, planStanding, type SubscriptionRecord } from "./subscriptions.js";

const catalog = buildCatalog();
const day = 86_400_000;
const created = new Date("2026-11-01T00:00:00Z");
const trialEndsAt = new Date(created.getTime() + 15 * day);
const afterTrial = new Date("2026-12-01T00:00:00Z");

function subscription(changes: Partial<SubscriptionRecord>): SubscriptionRecord {
  return {
    id: "sbs_1",
    stripeSubscriptionId: "sub_1",
    plan: "maker",
    interval: "year",
    status: "active",
    currentPeriodStart: created,
    currentPeriodEnd: new Date("2027-11-01T00:00:00Z"),
    anchorDay: 1,
    cancelAtPeriodEnd: false,
    pastDueSince: null,
    ...changes,
  };
}

describe("planStanding", () => {
  it.each([
    { name: "a new org is on the solo trial", sub: null, now: created, source: "trial", plan: "solo" },
    { name: "the trial ends", sub: null, now: afterTrial, source: "none", plan: null },
    {
      name: "an active subscription",
      sub: subscription({}),
      now: afterTrial,
      source: "subscription",
      plan: "maker",
    },
    {
      name: "past due inside the grace period",
      sub: subscription({ status: "past_due", pastDueSince: new Date(afterTrial.getTime() - 6 * day) }),
      now: afterTrial,
      source: "subscription",
      plan: "maker",
    },
    {
      name: "past due beyond the grace period",
      sub: subscription({ status: "past_due", pastDueSince: new Date(afterTrial.getTime() - 7 * day) }),
      now: afterTrial,
      source: "none",
      plan: null,
    },
    {
      name: "canceled while the trial runs",
      sub: subscription({ status: "canceled" }),
      now: new Date(created.getTime() + day),
      source: "trial",
      plan: "solo",
    },
    {
      name: "canceled",
      sub: subscription({ status: "canceled" }),
      now: afterTrial,
      source: "none",
      plan: null,
    },
    { name: "unpaid", sub: subscription({ status: "unpaid" }), now: afterTrial, source: "none", plan: null },
  ] as const)("$name", ({ sub, now, source, plan }) => {
    const standing = planStanding({ subscription: sub, trialStartedAt: created, trialEndsAt, catalog, now });
    expect(standing.source).toBe(source);
    expect(standing.plan).toBe(plan);
  });

  it("says when the grace period ends", () => {
    const pastDueSince = new Date("2026-11-20T10:00:00Z");
    const standing = planStanding({
      subscription: subscription({ status: "past_due", pastDueSince }),
      trialStartedAt: created,
      trialEndsAt,
      catalog,
      now: afterTrial,
    });
    expect(standing.graceEndsAt).toEqual(new Date("2026-11-27T10:00:00Z"));
    expect(standing.status).toBe("past_due");
  });

  it("shows a canceled subscription as canceled once nothing serves", () => {
    const standing = planStanding({
      subscription: subscription({ status: "canceled" }),
      trialStartedAt: created,
      trialEndsAt,
      catalog,
      now: afterTrial,
    });
    expect(standing).toMatchObject({ status: "canceled", interval: "year", plan: null });
  });
});

describe("anchorDayOf", () => {
  it("is the UTC day of month", () => {
    expect(anchorDayOf(new Date("2026-01-31T23:30:00-05:00"))).toBe(1);
    expect(anchorDayOf(new Date("2026-01-31T12:00:00Z"))).toBe(31);
  });
});
