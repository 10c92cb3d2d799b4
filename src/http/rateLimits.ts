import type { FastifyReply } from "fastify";
import { AppError } from "../domain/errors.js";
import { type RateLimit, RateLimiter } from "../domain/rateLimit.js";

/** Per API key, per process: generous for honest senders, a wall for a runaway loop. */
export const keyRateLimits = {
  /** Batches of up to 1,000 events: 100 a second is 100,000 events a second per key. */
  usage: { perSecond: 100, burst: 200 },
  check: { perSecond: 10_000, burst: 20_000 },
} as const satisfies Record<string, RateLimit>;

export type KeyRateLimiters = Record<keyof typeof keyRateLimits, RateLimiter>;

export function keyRateLimiters(): KeyRateLimiters {
  return { usage: new RateLimiter(keyRateLimits.usage), check: new RateLimiter(keyRateLimits.check) };
}

/** Spends one request of `key`, or answers 429 with Retry-After. */
export function spend({
  limiter,
  key,
  reply,
  now,
}: {
  limiter: RateLimiter;
  key: string;
  reply: FastifyReply;
  now: Date;
}): void {
  const wait = limiter.take(key, now.getTime());
  if (wait === 0) return;
  reply.header("retry-after", String(Math.max(1, Math.ceil(wait))));
  throw new AppError(
    "rate_limited",
    "Too many requests for this API key; retry after the Retry-After seconds",
  );
}
