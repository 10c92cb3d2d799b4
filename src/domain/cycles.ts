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

const DAY_MS = 86_400_000;

/** The longest a cycle stretched over a change of anchor day may run (see `moveAnchor`). */
export const MAX_CYCLE_DAYS = 62;

/**
 * How an organization's cycles fall: by its anchor day, except around the last change of anchor
 * day, where one cycle (`bridge`) joins the old cycles to the new ones, after the cycle that began
 * at `beforeBridge`. Cycles never overlap and leave no gap, so a day's usage belongs to one cycle
 * whatever changes later.
 */
export interface CycleSchedule {
  anchorDay: number;
  bridge: Cycle | null;
  beforeBridge: Date | null;
}

export const calendarSchedule: CycleSchedule = { anchorDay: 1, bridge: null, beforeBridge: null };

/**
 * The cycle of `schedule` containing `at`. The same rule as the database's
 * `meterline_org_cycle_start`, which tests hold it to.
 *
 * Example: anchor day 10 with a bridge from Dec 1 to Jan 10 (the org subscribed on Dec 10, in
 * a calendar cycle): Dec 20 is in Dec 1 → Jan 10, Jan 15 in Jan 10 → Feb 10, Nov 30 in the
 * cycle before the bridge, Nov 1 → Dec 1.
 */
export function cycleAt({ at, schedule }: { at: Date; schedule: CycleSchedule }): Cycle {
  const { anchorDay, bridge, beforeBridge } = schedule;
  if (!bridge || at >= bridge.end) return cycleContaining({ at, anchorDay });
  if (at >= bridge.start) return bridge;
  if (beforeBridge && at >= beforeBridge) return { start: beforeBridge, end: bridge.start };
  // Older than anything kept: the anchor day's months, ending where the known cycles begin.
  const older = cycleContaining({ at, anchorDay });
  const limit = beforeBridge ?? bridge.start;
  return older.end > limit ? { start: older.start, end: limit } : older;
}

/**
 * The schedule after the anchor day changes at `now` (a subscription starts, ends, or Stripe
 * resets its period). The running cycle keeps its start, and so its usage and what was charged
 * and owed for it: it runs on to the new anchor day's next boundary. Nothing is counted twice
 * and nothing is dropped, because no day changes cycle.
 *
 * Stretching a cycle that already runs long (a second change soon after the first) would let one
 * quota cover more than MAX_CYCLE_DAYS: that cycle ends with today instead, and the next one
 * leads from tomorrow to the new anchor day.
 *
 * Example: a calendar cycle (Dec 1 → Jan 1) and a subscription on Dec 10: anchor day 10 with
 * the bridge Dec 1 → Jan 10. Cancelled on Jan 10 at the period's end: anchor day 1, the bridge
 * Jan 10 → Feb 1.
 */
export function moveAnchor({
  schedule,
  anchorDay,
  now,
}: {
  schedule: CycleSchedule;
  anchorDay: number;
  now: Date;
}): CycleSchedule {
  if (anchorDay === schedule.anchorDay) return schedule;
  const running = cycleAt({ at: now, schedule });
  const end = cycleContaining({ at: now, anchorDay }).end;
  if (end.getTime() - running.start.getTime() <= MAX_CYCLE_DAYS * DAY_MS) {
    const before = cycleAt({ at: new Date(running.start.getTime() - 1), schedule });
    return { anchorDay, bridge: { start: running.start, end }, beforeBridge: before.start };
  }
  const tomorrow = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
  const next = cycleContaining({ at: tomorrow, anchorDay });
  return { anchorDay, bridge: { start: tomorrow, end: next.end }, beforeBridge: running.start };
}

/**
 * The `count` cycles before `cycle`, most recent first. Example: before November 2026 on
 * calendar months, October then September.
 */
export function cyclesBefore({
  cycle,
  schedule,
  count,
}: {
  cycle: Cycle;
  schedule: CycleSchedule;
  count: number;
}): Cycle[] {
  const previous: Cycle[] = [];
  let at = cycle.start;
  for (let n = 0; n < count; n += 1) {
    const before = cycleAt({ at: new Date(at.getTime() - 1), schedule });
    previous.push(before);
    at = before.start;
  }
  return previous;
}
