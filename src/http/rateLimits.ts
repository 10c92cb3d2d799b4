import { AppError } from "../domain/errors.js";
import { type RateLimit, RateLimiter } from "../domain/rateLimit.js";

/**
 * Per process, token buckets. Per API key: generous for honest senders, a wall for a runaway
 * loop. Per account, address and device: a wall for password guessing and mass sign-ups that
 * never locks the owner out (see `spendSignIn`). Per organization: a wall for scripts opening
 * checkouts in a loop.
 */
export const rateLimits = {
  /** Batches of up to 1,000 events: 100 a second is 100,000 events a second per key. */
  usage: { perSecond: 100, burst: 200 },
  check: { perSecond: 10_000, burst: 20_000 },
  /** Sign-in attempts per client address, whatever the email. */
  loginPerAddress: { perSecond: 1, burst: 50 },
  /** Sign-in attempts per account from one address: 10 at once, then one a minute. */
  loginPerAccountAddress: { perSecond: 1 / 60, burst: 10 },
  /** Sign-in attempts per account from browsers it has not seen: 20 at once, then one a minute. */
  loginPerAccount: { perSecond: 1 / 60, burst: 20 },
  /** Sign-in attempts per account from one browser it has seen: 10 at once, then one a minute. */
  loginPerDevice: { perSecond: 1 / 60, burst: 10 },
  /** Current-password checks per user (changing the password): 10 at once, then one a minute. */
  passwordCheckPerUser: { perSecond: 1 / 60, burst: 10 },
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

/** Spends one request of `key`, or refuses it (429 with Retry-After), saying what was limited. */
export function spend({
  limiter,
  key,
  now,
  what = "this API key",
}: {
  limiter: RateLimiter;
  key: string;
  now: Date;
  what?: string;
}): void {
  const wait = limiter.take(key, now.getTime());
  if (wait === 0) return;
  const seconds = Math.max(1, Math.ceil(wait));
  throw new AppError("rate_limited", `Too many requests for ${what}; retry in ${seconds} s (Retry-After)`, {
    retryAfterSeconds: seconds,
  });
}

/** Spends one Checkout Session of the organization (plans and credits share the allowance). */
export function spendCheckout({
  limiters,
  orgId,
  now,
}: {
  limiters: RateLimiters;
  orgId: string;
  now: Date;
}): void {
  spend({ limiter: limiters.checkoutPerOrg, key: orgId, now, what: "checkouts of this organization" });
}

/**
 * Spends one sign-in attempt. Every attempt spends its address's allowance. An attempt from a
 * browser that signed in to the account before (`device`, from its device cookie) then spends
 * that device's allowance alone; any other spends the allowance of the account from that address
 * and the account's own. Guessing from one address is held back by the first, guessing from many
 * by the second, and neither touches the owner's browser, which the attacker cannot present: the
 * owner is slowed only when signing in from a browser never used for the account before, while
 * the account's allowance is spent.
 */
export function spendSignIn({
  limiters,
  email,
  address,
  device,
  now,
}: {
  limiters: RateLimiters;
  email: string;
  address: string;
  device: string | undefined;
  now: Date;
}): void {
  const account = email.trim().toLowerCase();
  spend({ limiter: limiters.loginPerAddress, key: address, now, what: "sign-ins from this address" });
  if (device !== undefined) {
    spend({ limiter: limiters.loginPerDevice, key: device, now, what: "sign-ins from this browser" });
    return;
  }
  spend({
    limiter: limiters.loginPerAccountAddress,
    key: `${account} ${address}`,
    now,
    what: "sign-ins to this account from this address",
  });
  spend({
    limiter: limiters.loginPerAccount,
    key: account,
    now,
    what: "sign-ins to this account from browsers not used for it before",
  });
}
