import { AppError } from "./errors.js";

const HOUR_MS = 3_600_000;

export interface WindowLimit {
  /** At most this many actions in any window of `windowMs`. */
  max: number;
  windowMs: number;
  /** What is counted, for the refusal: "organizations created by one person". */
  what: string;
}

/**
 * Limits on actions that write a row, counted from those rows (by their creation time) rather
 * than in memory, so they hold across processes and restarts. Far above what a person does; a
 * wall for a script creating organizations, keys or requests in a loop. The per-process limits
 * on requests are in `http/rateLimits.ts`.
 */
export const actionLimits = {
  orgsPerUser: { max: 10, windowMs: 24 * HOUR_MS, what: "organizations created by one person" },
  apiKeysPerOrg: { max: 20, windowMs: 24 * HOUR_MS, what: "API keys created in this organization" },
  contactSalesPerOrg: {
    max: 5,
    windowMs: 24 * HOUR_MS,
    what: "custom-plan requests from this organization",
  },
  /** Each sends an email to an address no one has confirmed yet. */
  billingEmailLinksPerOrg: {
    max: 5,
    windowMs: 24 * HOUR_MS,
    what: "billing email confirmations sent for this organization",
  },
} as const satisfies Record<string, WindowLimit>;

export type LimitedAction = keyof typeof actionLimits;

/** Unrevoked keys an organization may hold at once; beyond, one must be revoked first. */
export const MAX_LIVE_API_KEYS = 100;

/**
 * Seconds until one more action is allowed, 0 if it is now. `newest` are the times of the
 * latest actions inside the window, at most `max` of them, in any order: when there are `max`,
 * the oldest of them must leave the window first. Rounded up to a whole second, at least 1.
 *
 * Example (max 2 in 24 h): actions at 09:00 and 10:00, asked at 12:00 the same day → 75,600
 * (21 hours, until 09:00 the next day).
 */
export function secondsUntilAllowed({
  limit,
  newest,
  now,
}: {
  limit: WindowLimit;
  newest: readonly Date[];
  now: Date;
}): number {
  const inWindow = newest.filter((at) => at.getTime() > now.getTime() - limit.windowMs);
  if (inWindow.length < limit.max) return 0;
  const oldest = Math.min(...inWindow.map((at) => at.getTime()));
  return Math.max(1, Math.ceil((oldest + limit.windowMs - now.getTime()) / 1000));
}

/** The rows a check needs: the latest `max` since the window began. */
export function recentWindow({ limit, now }: { limit: WindowLimit; now: Date }): {
  since: Date;
  max: number;
} {
  return { since: new Date(now.getTime() - limit.windowMs), max: limit.max };
}

/** Refuses the action with `rate_limited` and when to retry, unless the window has room. */
export function assertWithinLimit(options: { limit: WindowLimit; newest: readonly Date[]; now: Date }): void {
  const seconds = secondsUntilAllowed(options);
  if (seconds === 0) return;
  const { max, windowMs, what } = options.limit;
  throw new AppError(
    "rate_limited",
    `Too many ${what}: at most ${max} in any ${windowMs / HOUR_MS} hours; retry in ${seconds} s (Retry-After)`,
    { retryAfterSeconds: seconds },
  );
}
