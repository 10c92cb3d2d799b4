import { describe, expect, it } from "vitest";
import { buildCatalog } from "./catalog.js";
import { MICROS_PER_CREDIT } from "./money.js";
import { type Quantity, whole } from "./quantity.js";
import { tieredCostMicros } from "./tierPricing.js";

const tiers = buildCatalog().creditTiers;
const credits = (value: string) => {
  const [int = "0", frac = ""] = value.split(".");
  return BigInt(int) * MICROS_PER_CREDIT + BigInt(frac.padEnd(6, "0"));
};
const gib = (numerator: bigint, denominator = 1n): Quantity => ({ numerator, denominator });

describe("tieredCostMicros", () => {
  it.each([
    { name: "nothing", metric: "mau", quantity: whole(0n), cost: "0" },
    { name: "one MAU", metric: "mau", quantity: whole(1n), cost: "0.003" },
    { name: "10,000 MAU (the solo trial at 12,000)", metric: "mau", quantity: whole(10_000n), cost: "30" },
    { name: "the first MAU tier full", metric: "mau", quantity: whole(1_000_000n), cost: "3000" },
    { name: "one MAU into the second tier", metric: "mau", quantity: whole(1_000_001n), cost: "3000.0022" },
    { name: "the SPEC's example", metric: "mau", quantity: whole(1_500_000n), cost: "4100" },
    { name: "3M MAU", metric: "mau", quantity: whole(3_000_000n), cost: "7400" },
    { name: "above every bound", metric: "mau", quantity: whole(100_000_001n), cost: "105600.0007" },
    { name: "1.5 GiB of bandwidth", metric: "bandwidth", quantity: gib(3n, 2n), cost: "0.09" },
    { name: "1,024 GiB of bandwidth", metric: "bandwidth", quantity: whole(1_024n), cost: "61.44" },
    { name: "1,025 GiB of bandwidth", metric: "bandwidth", quantity: whole(1_025n), cost: "61.49" },
    {
      name: "one byte of bandwidth rounds up",
      metric: "bandwidth",
      quantity: gib(1n, 1n << 30n),
      cost: "0.000001",
    },
    { name: "1 GiB-month of storage", metric: "storage", quantity: whole(1n), cost: "0.09" },
    { name: "2 GiB-months of storage", metric: "storage", quantity: whole(2n), cost: "0.17" },
    { name: "100 build minutes", metric: "build_minutes", quantity: whole(100n), cost: "8" },
    { name: "101 build minutes", metric: "build_minutes", quantity: whole(101n), cost: "8.07" },
    { name: "10,001 build minutes", metric: "build_minutes", quantity: whole(10_001n), cost: "491.04" },
  ] as const)("$name costs $cost", ({ metric, quantity, cost }) => {
    expect(tieredCostMicros({ quantity, tiers: tiers[metric] })).toBe(credits(cost));
  });
});
