import { describe, expect, it } from "vitest";
import { RateLimiter } from "./rateLimit.js";

describe("RateLimiter", () => {
  it("lets a burst through, then refills at the rate", () => {
    const limiter = new RateLimiter({ perSecond: 2, burst: 4 });
    expect([0, 0, 0, 0].map(() => limiter.take("k", 0))).toEqual([0, 0, 0, 0]);
    expect(limiter.take("k", 0)).toBe(0.5);
    expect(limiter.take("k", 499)).toBeGreaterThan(0);
    expect(limiter.take("k", 500)).toBe(0);
    expect(limiter.take("other", 500)).toBe(0);
  });

  it("never holds more than the burst", () => {
    const limiter = new RateLimiter({ perSecond: 10, burst: 2 });
    limiter.take("k", 0);
    const later = 60_000;
    expect([limiter.take("k", later), limiter.take("k", later), limiter.take("k", later)]).toEqual([
      0, 0, 0.1,
    ]);
  });
});
