import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { allocateSpend, planOverageCharges, type SpendableGrant } from "./ledger.js";
import { minBig } from "./money.js";

const now = new Date("2026-11-26T00:00:00Z");
const grant = (
  id: string,
  remaining: bigint,
  expires: string,
  created = "2026-01-01T00:00:00Z",
): SpendableGrant => ({
  id,
  remaining,
  expiresAt: new Date(expires),
  createdAt: new Date(created),
});

describe("allocateSpend", () => {
  const a = grant("a", 10n, "2027-05-01T00:00:00Z");
  const b = grant("b", 50n, "2027-03-01T00:00:00Z");
  it.each([
    { amount: 30n, allocations: [{ grantId: "b", amount: 30n }], uncovered: 0n },
    {
      amount: 55n,
      allocations: [
        { grantId: "b", amount: 50n },
        { grantId: "a", amount: 5n },
      ],
      uncovered: 0n,
    },
    {
      amount: 70n,
      allocations: [
        { grantId: "b", amount: 50n },
        { grantId: "a", amount: 10n },
      ],
      uncovered: 10n,
    },
    { amount: 0n, allocations: [], uncovered: 0n },
  ])("spends $amount from the earliest expiry first", ({ amount, allocations, uncovered }) => {
    expect(allocateSpend({ grants: [a, b], amount, now })).toEqual({ allocations, uncovered });
  });

  it("takes the oldest of grants expiring together, and never an expired one", () => {
    const older = grant("z", 5n, "2027-01-01T00:00:00Z", "2026-01-01T00:00:00Z");
    const newer = grant("y", 5n, "2027-01-01T00:00:00Z", "2026-02-01T00:00:00Z");
    const expired = grant("x", 100n, "2026-11-25T00:00:00Z");
    expect(allocateSpend({ grants: [newer, expired, older], amount: 7n, now }).allocations).toEqual([
      { grantId: "z", amount: 5n },
      { grantId: "y", amount: 2n },
    ]);
  });

  it("covers exactly what the usable grants hold, and never more than any grant has", () => {
    const grants = fc.array(
      fc.record({
        id: fc.uuid(),
        remaining: fc.bigInt({ min: 0n, max: 10_000_000n }),
        expiresAt: fc.date({
          min: new Date("2026-01-01T00:00:00Z"),
          max: new Date("2028-01-01T00:00:00Z"),
          noInvalidDate: true,
        }),
        createdAt: fc.constant(new Date("2025-01-01T00:00:00Z")),
      }),
      { maxLength: 8 },
    );
    fc.assert(
      fc.property(grants, fc.bigInt({ min: 0n, max: 50_000_000n }), (list, amount) => {
        const { allocations, uncovered } = allocateSpend({ grants: list, amount, now });
        const usable = list.filter((g) => g.expiresAt > now).reduce((sum, g) => sum + g.remaining, 0n);
        const spent = allocations.reduce((sum, allocation) => sum + allocation.amount, 0n);
        expect(spent + uncovered).toBe(amount);
        expect(spent).toBe(minBig(amount, usable));
        for (const allocation of allocations) {
          const from = list.find((g) => g.id === allocation.grantId);
          expect(allocation.amount > 0n && from !== undefined && allocation.amount <= from.remaining).toBe(
            true,
          );
        }
      }),
    );
  });
});

describe("planOverageCharges", () => {
  const g = (id: string, remaining: bigint, expires: string) => grant(id, remaining, expires);
  it("deducts each metric's cost so far minus what was charged, sharing the grants", () => {
    const charges = planOverageCharges({
      dues: [
        { metric: "mau", cost: 30n, charged: 12n },
        { metric: "bandwidth", cost: 10n, charged: 10n },
        { metric: "build_minutes", cost: 20n, charged: 0n },
      ],
      grants: [g("a", 25n, "2027-01-01T00:00:00Z"), g("b", 5n, "2027-06-01T00:00:00Z")],
      now,
    });
    expect(charges).toEqual([
      {
        metric: "mau",
        chargedBefore: 12n,
        allocations: [{ grantId: "a", amount: 18n }],
        paid: 18n,
        unpaid: 0n,
      },
      {
        metric: "build_minutes",
        chargedBefore: 0n,
        allocations: [
          { grantId: "a", amount: 7n },
          { grantId: "b", amount: 5n },
        ],
        paid: 12n,
        unpaid: 8n,
      },
    ]);
  });
});
