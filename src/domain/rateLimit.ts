/**
 * Token buckets: each key may spend `burst` requests at once, refilled at `perSecond`.
 * Example (perSecond 2, burst 4): 4 requests at t=0 pass, the 5th waits 0.5 s.
 */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

export class RateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #limit: RateLimit;

  constructor(limit: RateLimit) {
    this.#limit = limit;
  }

  /** Spends one token of `key`; answers 0 when allowed, else the seconds until one is back. */
  take(key: string, nowMs: number): number {
    const { perSecond, burst } = this.#limit;
    const bucket = this.#buckets.get(key) ?? { tokens: burst, at: nowMs };
    const tokens = Math.min(burst, bucket.tokens + ((nowMs - bucket.at) / 1000) * perSecond);
    if (tokens >= 1) {
      this.#buckets.set(key, { tokens: tokens - 1, at: nowMs });
      if (this.#buckets.size > 100_000) this.#forgetFull(nowMs);
      return 0;
    }
    this.#buckets.set(key, { tokens, at: nowMs });
    return (1 - tokens) / perSecond;
  }

  /** Buckets that have refilled are the same as no bucket: dropping them bounds the memory. */
  #forgetFull(nowMs: number): void {
    const { perSecond, burst } = this.#limit;
    for (const [key, bucket] of this.#buckets) {
      if (bucket.tokens + ((nowMs - bucket.at) / 1000) * perSecond >= burst) this.#buckets.delete(key);
    }
  }
}
