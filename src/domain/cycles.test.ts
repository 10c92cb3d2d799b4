import { describe, expect, it } from "vitest";
import { cycleContaining } from "./cycles.js";

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
