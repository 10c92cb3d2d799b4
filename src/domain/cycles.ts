/**
 * Billing cycles (SPEC §2). A cycle starts on the subscription's anchor day of month at 00:00
 * UTC, clamped to the month's last day; an organization without a subscription uses the
 * calendar month (anchor day 1).
 *
 * Example: anchor day 31 gives cycles Jan 31 → Feb 28 → Mar 31 → Apr 30 (2026).
 */
export interface Cycle {
  start: Date;
  end: Date;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
}

function anchorIn(year: number, month: number, anchorDay: number): Date {
  const normalized = new Date(Date.UTC(year, month, 1));
  const y = normalized.getUTCFullYear();
  const m = normalized.getUTCMonth();
  return new Date(Date.UTC(y, m, Math.min(anchorDay, daysInMonth(y, m))));
}

export function cycleContaining({ at, anchorDay = 1 }: { at: Date; anchorDay?: number }): Cycle {
  if (!Number.isInteger(anchorDay) || anchorDay < 1 || anchorDay > 31) {
    throw new RangeError(`anchor day must be 1..31, got ${anchorDay}`);
  }
  const year = at.getUTCFullYear();
  const month = at.getUTCMonth();
  const thisMonth = anchorIn(year, month, anchorDay);
  return at >= thisMonth
    ? { start: thisMonth, end: anchorIn(year, month + 1, anchorDay) }
    : { start: anchorIn(year, month - 1, anchorDay), end: thisMonth };
}

/** The `count` cycles before `cycle`, most recent first. Example: before November 2026 (anchor 1), October then September. */
export function cyclesBefore({
  cycle,
  anchorDay,
  count,
}: {
  cycle: Cycle;
  anchorDay: number;
  count: number;
}): Cycle[] {
  const previous: Cycle[] = [];
  let at = cycle.start;
  for (let n = 0; n < count; n += 1) {
    const before = cycleContaining({ at: new Date(at.getTime() - 1), anchorDay });
    previous.push(before);
    at = before.start;
  }
  return previous;
}
