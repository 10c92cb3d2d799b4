import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type Cycle,
  type CycleSchedule,
  calendarSchedule,
  cycleAt,
  cycleContaining,
  cyclesBefore,
  MAX_CYCLE_DAYS,
  moveAnchor,
} from "./cycles.js";

const d = (iso: string) => new Date(iso);

describe("cycleContaining", () => {
  it.each([
    {
      name: "calendar month",
      at: "2026-11-26T11:00:00Z",
      anchorDay: 1,
      start: "2026-11-01",
      end: "2026-12-01",
    },
    {
      name: "first instant of a month",
      at: "2026-12-01T00:00:00Z",
      anchorDay: 1,
      start: "2026-12-01",
      end: "2027-01-01",
    },
    {
      name: "last instant before a month",
      at: "2026-11-30T23:59:59.999Z",
      anchorDay: 1,
      start: "2026-11-01",
      end: "2026-12-01",
    },
    {
      name: "anchor 15, after it",
      at: "2026-11-20T00:00:00Z",
      anchorDay: 15,
      start: "2026-11-15",
      end: "2026-12-15",
    },
    {
      name: "anchor 15, before it",
      at: "2026-11-10T00:00:00Z",
      anchorDay: 15,
      start: "2026-10-15",
      end: "2026-11-15",
    },
    {
      name: "anchor 31 clamps in February",
      at: "2026-02-28T12:00:00Z",
      anchorDay: 31,
      start: "2026-02-28",
      end: "2026-03-31",
    },
    {
      name: "anchor 31 before the clamp",
      at: "2026-02-27T12:00:00Z",
      anchorDay: 31,
      start: "2026-01-31",
      end: "2026-02-28",
    },
    {
      name: "anchor 30 in a leap February",
      at: "2028-02-29T00:00:00Z",
      anchorDay: 30,
      start: "2028-02-29",
      end: "2028-03-30",
    },
    {
      name: "anchor 31 in a 30-day month",
      at: "2026-04-30T00:00:00Z",
      anchorDay: 31,
      start: "2026-04-30",
      end: "2026-05-31",
    },
    {
      name: "across the year",
      at: "2026-12-31T00:00:00Z",
      anchorDay: 20,
      start: "2026-12-20",
      end: "2027-01-20",
    },
    {
      name: "January before its anchor",
      at: "2027-01-05T00:00:00Z",
      anchorDay: 20,
      start: "2026-12-20",
      end: "2027-01-20",
    },
  ])("$name", ({ at, anchorDay, start, end }) => {
    const cycle = cycleContaining({ at: d(at), anchorDay });
    expect(cycle.start.toISOString()).toBe(`${start}T00:00:00.000Z`);
    expect(cycle.end.toISOString()).toBe(`${end}T00:00:00.000Z`);
  });

  it("rejects impossible anchor days", () => {
    expect(() => cycleContaining({ at: new Date(), anchorDay: 0 })).toThrow(RangeError);
    expect(() => cycleContaining({ at: new Date(), anchorDay: 32 })).toThrow(RangeError);
  });
});

const DAY = 86_400_000;
const days = (cycle: Cycle) => [cycle.start.toISOString().slice(0, 10), cycle.end.toISOString().slice(0, 10)];

describe("moveAnchor", () => {
  it.each([
    {
      name: "a trial subscribes mid-month: the calendar cycle runs on to the first renewal",
      schedule: calendarSchedule,
      anchorDay: 10,
      now: "2026-12-10T15:00:00Z",
      bridge: ["2026-12-01", "2027-01-10"],
      beforeBridge: "2026-11-01",
    },
    {
      name: "subscribing on the 31st: the longest bridge",
      schedule: calendarSchedule,
      anchorDay: 31,
      now: "2026-12-31T23:00:00Z",
      bridge: ["2026-12-01", "2027-01-31"],
      beforeBridge: "2026-11-01",
    },
    {
      name: "cancelled at the period's end: back to calendar months",
      schedule: { anchorDay: 10, bridge: null, beforeBridge: null },
      anchorDay: 1,
      now: "2027-01-10T00:00:30Z",
      bridge: ["2027-01-10", "2027-02-01"],
      beforeBridge: "2026-12-10",
    },
    {
      name: "cancelled at once, mid-period",
      schedule: { anchorDay: 10, bridge: null, beforeBridge: null },
      anchorDay: 1,
      now: "2026-12-20T08:00:00Z",
      bridge: ["2026-12-10", "2027-01-01"],
      beforeBridge: "2026-11-10",
    },
    {
      name: "a period reset to an earlier day shortens the running cycle",
      schedule: { anchorDay: 20, bridge: null, beforeBridge: null },
      anchorDay: 5,
      now: "2026-12-25T08:00:00Z",
      bridge: ["2026-12-20", "2027-01-05"],
      beforeBridge: "2026-11-20",
    },
    {
      name: "a second change inside the bridge stretches it again, within two months",
      schedule: {
        anchorDay: 10,
        bridge: { start: d("2026-12-01"), end: d("2027-01-10") },
        beforeBridge: d("2026-11-01"),
      },
      anchorDay: 20,
      now: "2026-12-20T08:00:00Z",
      bridge: ["2026-12-01", "2027-01-20"],
      beforeBridge: "2026-11-01",
    },
    {
      name: "stretching past two months ends the running cycle with today instead",
      schedule: {
        anchorDay: 10,
        bridge: { start: d("2026-12-01"), end: d("2027-01-10") },
        beforeBridge: d("2026-11-01"),
      },
      anchorDay: 8,
      now: "2027-01-09T08:00:00Z",
      bridge: ["2027-01-10", "2027-02-08"],
      beforeBridge: "2026-12-01",
    },
  ])("$name", ({ schedule, anchorDay, now, bridge, beforeBridge }) => {
    const moved = moveAnchor({ schedule, anchorDay, now: d(now) });
    expect(moved.anchorDay).toBe(anchorDay);
    expect(moved.bridge && days(moved.bridge)).toEqual(bridge);
    expect(moved.beforeBridge?.toISOString().slice(0, 10)).toBe(beforeBridge);
  });

  it("keeps the schedule when the anchor day stays", () => {
    expect(moveAnchor({ schedule: calendarSchedule, anchorDay: 1, now: new Date() })).toBe(calendarSchedule);
  });

  it("never moves a day of the running or the previous cycle to another cycle, leaves no gap nor overlap, and no cycle runs past two months", () => {
    const change = fc.record({
      afterDays: fc.double({ min: 0, max: 45, noNaN: true }),
      anchorDay: fc.integer({ min: 1, max: 31 }),
    });
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 31 }),
        fc.array(change, { minLength: 1, maxLength: 8 }),
        fc.date({ min: d("2025-01-01"), max: d("2030-01-01"), noInvalidDate: true }),
        (firstAnchor, changes, startAt) => {
          let schedule: CycleSchedule = { anchorDay: firstAnchor, bridge: null, beforeBridge: null };
          let now = startAt.getTime();
          for (const { afterDays, anchorDay } of changes) {
            now += afterDays * DAY;
            const at = new Date(now);
            const running = cycleAt({ at, schedule });
            const previous = cycleAt({ at: new Date(running.start.getTime() - 1), schedule });
            const moved = moveAnchor({ schedule, anchorDay, now: at });
            // Every day from the previous cycle's start to today keeps its cycle's start.
            for (let day = previous.start.getTime(); day <= now; day += DAY) {
              const before = cycleAt({ at: new Date(day), schedule });
              const after = cycleAt({ at: new Date(day), schedule: moved });
              expect(after.start).toEqual(before.start);
            }
            // From there on, cycles follow one another for a year, each within bounds.
            let cycle = cycleAt({ at: previous.start, schedule: moved });
            while (cycle.start.getTime() < now + 365 * DAY) {
              expect(cycle.end.getTime()).toBeGreaterThan(cycle.start.getTime());
              expect(cycle.end.getTime() - cycle.start.getTime()).toBeLessThanOrEqual(MAX_CYCLE_DAYS * DAY);
              const next = cycleAt({ at: cycle.end, schedule: moved });
              expect(next.start).toEqual(cycle.end);
              cycle = next;
            }
            schedule = moved;
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("cycleAt and cyclesBefore", () => {
  const schedule: CycleSchedule = {
    anchorDay: 10,
    bridge: { start: d("2026-12-01"), end: d("2027-01-10") },
    beforeBridge: d("2026-11-01"),
  };

  it.each([
    { at: "2027-02-15T00:00:00Z", cycle: ["2027-02-10", "2027-03-10"] },
    { at: "2027-01-10T00:00:00Z", cycle: ["2027-01-10", "2027-02-10"] },
    { at: "2027-01-09T23:59:59Z", cycle: ["2026-12-01", "2027-01-10"] },
    { at: "2026-12-01T00:00:00Z", cycle: ["2026-12-01", "2027-01-10"] },
    { at: "2026-11-30T23:59:59Z", cycle: ["2026-11-01", "2026-12-01"] },
    // Older than what is kept: the anchor day's months, ending where the known cycles begin.
    { at: "2026-10-20T00:00:00Z", cycle: ["2026-10-10", "2026-11-01"] },
  ])("$at is in $cycle", ({ at, cycle }) => {
    expect(days(cycleAt({ at: d(at), schedule }))).toEqual(cycle);
  });

  it("walks back through the bridge", () => {
    const now = cycleAt({ at: d("2027-01-20T00:00:00Z"), schedule });
    expect(cyclesBefore({ cycle: now, schedule, count: 3 }).map(days)).toEqual([
      ["2026-12-01", "2027-01-10"],
      ["2026-11-01", "2026-12-01"],
      ["2026-10-10", "2026-11-01"],
    ]);
  });
});
