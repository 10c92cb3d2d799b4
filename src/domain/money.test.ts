import { describe, expect, it } from "vitest";
import { divideRoundingHalfUp, formatCents, formatCredits, parseCredits } from "./money.js";

describe("parseCredits", () => {
  it.each([
    { input: "0.003", expected: 3_000n },
    { input: "0.0425", expected: 42_500n },
    { input: "12.5", expected: 12_500_000n },
    { input: "100", expected: 100_000_000n },
    { input: "0.000001", expected: 1n },
    { input: "0.0000001", expected: null },
    { input: "-1", expected: null },
    { input: "1e3", expected: null },
    { input: "", expected: null },
    { input: ".5", expected: null },
  ])("$input → $expected", ({ input, expected }) => {
    expect(parseCredits(input)).toBe(expected);
  });
});

describe("formatCredits", () => {
  it.each([
    { input: 12_500_000n, expected: "12.500000" },
    { input: 0n, expected: "0.000000" },
    { input: 1n, expected: "0.000001" },
    { input: -30_000_000n, expected: "-30.000000" },
  ])("$input → $expected", ({ input, expected }) => {
    expect(formatCredits(input)).toBe(expected);
  });
});

describe("formatCents", () => {
  it.each([
    { cents: 37_440, expected: "374.40 USD" },
    { cents: 5, expected: "0.05 USD" },
    { cents: 120_000, expected: "1200.00 USD" },
  ])("$cents → $expected", ({ cents, expected }) => {
    expect(formatCents(cents, "usd")).toBe(expected);
  });
});

describe("divideRoundingHalfUp", () => {
  it.each([
    { dividend: 37_440, divisor: 12, expected: 3_120 },
    { dividend: 7, divisor: 2, expected: 4 },
    { dividend: 5, divisor: 3, expected: 2 },
    { dividend: 4, divisor: 3, expected: 1 },
  ])("$dividend / $divisor → $expected", ({ dividend, divisor, expected }) => {
    expect(divideRoundingHalfUp(dividend, divisor)).toBe(expected);
  });
});
