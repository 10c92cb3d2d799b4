import type { FastifyReply } from "fastify";
import { AppError } from "../domain/errors.js";
import { type RateLimit, RateLimiter } from "../domain/rateLimit.js";

/**
 * Per process, token buckets. Per API key: generous for honest senders, a wall for a runaway
 * loop. Per email and per address: a wall for password guessing and mass sign-ups. Per
 * organization: a wall for scripts opening checkouts in a loop.
 */
export const rateLimits = {
  /** Batches of up to 1,000 events: 100 a second is 100,000 events a second per key. */
  usage: { perSecond: 100, burst: 200 },
  check: { perSecond: 10_000, burst: 20_000 },
  /** Sign-in attempts per email: 10 at once, then one a minute. */
  loginPerEmail: { perSecond: 1 / 60, burst: 10 },
  /** Sign-in attempts per client address, whatever the email. */
  loginPerAddress: { perSecond: 1, burst: 50 },
  /** New accounts per client address: 20 at once, then one a minute. */
  signupPerAddress: { perSecond: 1 / 60, burst: 20 },
  /** Checkout Sessions (plans and credits) per organization: 10 at once, then one every 10 s. */
  checkoutPerOrg: { perSecond: 1 / 10, burst: 10 },
} as const satisfies Record<string, RateLimit>;

export type RateLimiters = Record<keyof typeof rateLimits, RateLimiter>;

export function rateLimiters(): RateLimiters {
  return Object.fromEntries(
    Object.entries(rateLimits).map(([name, limit]) => [name, new RateLimiter(limit)]),
  ) as RateLimiters;
}

/** Spends one request of `key`, or answers 429 with Retry-After, saying what was limited. */
export function spend({
  limiter,
  key,
  reply,
  now,
  what = "this API key",
}: {
  limiter: RateLimiter;
  key: string;
  reply: FastifyReply;
  now: Date;
  what?: string;
}): void {
  const wait = limiter.take(key, now.getTime());
  if (wait === 0) return;
  const seconds = Math.max(1, Math.ceil(wait));
  reply.header("retry-after", String(seconds));
  throw new AppError("rate_limited", `Too many requests for ${what}; retry in ${seconds} s (Retry-After)`);
}

/** Spends one Checkout Session of the organization (plans and credits share the allowance). */
export function spendCheckout({
  limiters,
  orgId,
  reply,
  now,
}: {
  limiters: RateLimiters;
  orgId: string;
  reply: FastifyReply;
  now: Date;
}): void {
  spend({ limiter: limiters.checkoutPerOrg, key: orgId, reply, now, what: "checkouts of this organization" });
}
