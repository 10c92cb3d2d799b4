import type { Interval } from "./store.js";

const DAY_SECONDS = 86_400;

export const RETRY_SPACING_SECONDS = 3 * DAY_SECONDS;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
}

/**
 * The `count`-th period boundary after a billing cycle anchor: the anchor's day of month and time
 * of day, clamped to the month's last day. Counting from the anchor (not from the previous
 * boundary) keeps a Jan 31 anchor on the 31st after February.
 * Example: anchor 2026-01-31T10:00Z, month → 2026-02-28T10:00Z, 2026-03-31T10:00Z.
 */
export function periodBoundary({
  anchor,
  interval,
  count,
}: {
  anchor: number;
  interval: Interval;
  count: number;
}): number {
  const start = new Date(anchor * 1000);
  const monthIndex = start.getUTCMonth() + (interval === "month" ? count : 12 * count);
  const year = start.getUTCFullYear() + Math.floor(monthIndex / 12);
  const month = monthIndex % 12;
  const day = Math.min(start.getUTCDate(), daysInMonth(year, month));
  return Date.UTC(year, month, day, start.getUTCHours(), start.getUTCMinutes(), start.getUTCSeconds()) / 1000;
}

/** The first boundary of the anchor's cycle strictly after `after`. */
export function boundaryAfter({
  anchor,
  interval,
  after,
}: {
  anchor: number;
  interval: Interval;
  after: number;
}): number {
  for (let count = 1; ; count++) {
    const boundary = periodBoundary({ anchor, interval, count });
    if (boundary > after) return boundary;
  }
}

/**
 * `amount × part / whole` in integer cents, rounded half up; never a float.
 * Example: 1000 cents for 10 of 30 days → 333 (333.33); 5 cents for half the period → 3 (2.5).
 */
export function prorate({ amount, part, whole }: { amount: number; part: number; whole: number }): number {
  if (whole <= 0) return 0;
  const numerator = 2n * BigInt(amount) * BigInt(part) + BigInt(whole);
  const denominator = 2n * BigInt(whole);
  // BigInt division truncates toward zero: floor for the non-negative inputs proration sees.
  return Number(numerator / denominator);
}
