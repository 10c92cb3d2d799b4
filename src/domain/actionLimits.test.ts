import { describe, expect, it } from "vitest";
import { assertWithinLimit, secondsUntilAllowed, type WindowLimit } from "./actionLimits.js";
import { AppError } from "./errors.js";

const twoADay: WindowLimit = { max: 2, windowMs: 86_400_000, what: "things" };
const at = (time: string) => new Date(`2026-11-26T${time}Z`);
const nextDay = (time: string) => new Date(`2026-11-27T${time}Z`);

describe("secondsUntilAllowed", () => {
  it.each([
    { name: "nothing yet", newest: [], now: at("12:00:00"), expected: 0 },
    { name: "one of two", newest: [at("09:00:00")], now: at("12:00:00"), expected: 0 },
    {
      name: "two of two: until the older leaves",
      newest: [at("10:00:00"), at("09:00:00")],
      now: at("12:00:00"),
      expected: 21 * 3600,
    },
    {
      name: "order does not matter",
      newest: [at("09:00:00"), at("10:00:00")],
      now: at("12:00:00"),
      expected: 21 * 3600,
    },
    {
      name: "the older has just left the window",
      newest: [at("10:00:00"), at("09:00:00")],
      now: nextDay("09:00:00"),
      expected: 0,
    },
    {
      name: "a millisecond before it leaves: one second, never zero",
      newest: [at("10:00:00"), at("09:00:00")],
      now: new Date(nextDay("09:00:00").getTime() - 1),
      expected: 1,
    },
    {
      name: "fractions of a second round up",
      newest: [at("10:00:00"), at("09:00:00.500")],
      now: at("12:00:00"),
      expected: 21 * 3600 + 1,
    },
  ])("$name → $expected s", ({ newest, now, expected }) => {
    expect(secondsUntilAllowed({ limit: twoADay, newest, now })).toBe(expected);
  });
});

describe("assertWithinLimit", () => {
  it("refuses with rate_limited, naming what is limited and when to retry", () => {
    const refuse = () =>
      assertWithinLimit({ limit: twoADay, newest: [at("10:00:00"), at("09:00:00")], now: at("12:00:00") });
    expect(refuse).toThrow(AppError);
    try {
      refuse();
    } catch (error) {
      expect(error).toMatchObject({
        code: "rate_limited",
        retryAfterSeconds: 75_600,
        message: "Too many things: at most 2 in any 24 hours; retry in 75600 s (Retry-After)",
      });
    }
  });

  it("lets an action through while the window has room", () => {
    expect(() =>
      assertWithinLimit({ limit: twoADay, newest: [at("09:00:00")], now: at("12:00:00") }),
    ).not.toThrow();
  });
});
