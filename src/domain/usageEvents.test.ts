import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CycleSchedule } from "./cycles.js";
import {
  canonicalEvent,
  parseBySchema,
  parseUsageEvent,
  readWellFormedEvent,
  tooNew,
  tooOld,
  tooOldForAnyCycle,
} from "./usageEvents.js";

const now = new Date("2026-11-26T12:00:00Z");

describe("the accepted time window", () => {
  const regular = (anchorDay: number): CycleSchedule => ({ anchorDay, bridge: null, beforeBridge: null });
  // Subscribed on Nov 10 during the calendar cycle: Nov 1 → Dec 10, then the 10th of each month.
  const bridged: CycleSchedule = {
    anchorDay: 10,
    bridge: { start: new Date("2026-11-01"), end: new Date("2026-12-10") },
    beforeBridge: new Date("2026-10-01"),
  };
  it.each([
    { name: "now", at: "2026-11-26T12:00:00Z", schedule: regular(1), expected: null },
    { name: "exactly 5 minutes ahead", at: "2026-11-26T12:05:00Z", schedule: regular(1), expected: null },
    {
      name: "5 minutes and 1 ms ahead",
      at: "2026-11-26T12:05:00.001Z",
      schedule: regular(1),
      expected: "event_too_new",
    },
    {
      name: "start of the grace after October",
      at: "2026-10-30T00:00:00Z",
      schedule: regular(1),
      expected: null,
    },
    {
      name: "just before the grace",
      at: "2026-10-29T23:59:59.999Z",
      schedule: regular(1),
      expected: "event_too_old",
    },
    {
      name: "anchor 20: inside this cycle",
      at: "2026-11-20T00:00:00Z",
      schedule: regular(20),
      expected: null,
    },
    {
      name: "anchor 20: inside the grace",
      at: "2026-11-18T00:00:00Z",
      schedule: regular(20),
      expected: null,
    },
    {
      name: "anchor 20: before the grace",
      at: "2026-11-17T23:59:59Z",
      schedule: regular(20),
      expected: "event_too_old",
    },
    {
      name: "bridge: the grace before its start",
      at: "2026-10-30T00:00:00Z",
      schedule: bridged,
      expected: null,
    },
    {
      name: "bridge: before that grace",
      at: "2026-10-29T23:59:59Z",
      schedule: bridged,
      expected: "event_too_old",
    },
  ])("$name → $expected", ({ at, schedule, expected }) => {
    const occurredAt = new Date(at);
    expect((tooNew({ occurredAt, now }) ?? tooOld({ occurredAt, now, schedule }))?.code ?? null).toBe(
      expected,
    );
  });

  it.each([
    { at: "0000-01-01T00:00:00Z", expected: "event_too_old" },
    { at: "1969-12-31T23:59:59Z", expected: "event_too_old" },
    { at: "2026-09-22T23:59:59Z", expected: "event_too_old" },
    // The longest cycle (62 days) plus the 48 hours of grace: maybe accepted, for the database to judge.
    { at: "2026-09-23T12:00:00Z", expected: null },
  ])("too old for any cycle: $at → $expected", ({ at, expected }) => {
    expect(tooOldForAnyCycle({ occurredAt: new Date(at), now })?.code ?? null).toBe(expected);
  });
});

describe("parseUsageEvent", () => {
  const base = { id: "e1", org_id: "org_1", app_id: "app", timestamp: "2026-11-26T12:00:00+01:00" };

  it("reads bandwidth values given as numbers or as digit strings, exactly", () => {
    const small = parseUsageEvent({ ...base, metric: "bandwidth", value: 42 }, 0);
    const big = parseUsageEvent({ ...base, metric: "bandwidth", value: "18446744073709551" }, 0);
    expect(small.ok && small.event.value).toBe(42n);
    expect(big.ok && big.event.value).toBe(18446744073709551n);
    expect(small.ok && small.event.occurredAt.toISOString()).toBe("2026-11-26T11:00:00.000Z");
  });

  it.each([
    [{ ...base, metric: "bandwidth", value: 1.5 }, "events[0].value"],
    [{ ...base, metric: "bandwidth", value: "99999999999999999999" }, "events[0].value"],
    [{ ...base, metric: "mau" }, "events[0].device_id: required for mau"],
    [{ ...base, metric: "mau", device_id: "d", value: 1 }, "events[0].value: not allowed for mau"],
    [{ ...base, metric: "storage", value: 1, device_id: "d" }, "events[0].device_id"],
    [{ ...base, id: "has space", metric: "mau", device_id: "d" }, "events[0].id"],
    [{ ...base, metric: "mau", device_id: "d", timestamp: "yesterday" }, "events[0].timestamp"],
    [
      { ...base, metric: "mau", device_id: "d", timestamp: "2026-11-26T12:00:00.0001Z" },
      "events[0].timestamp",
    ],
  ])("rejects %o naming %s", (raw, field) => {
    const parsed = parseUsageEvent(raw, 0);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.rejection.message).toContain(field);
  });

  it("gives the same canonical form whatever the key order or time zone spelling", () => {
    const a = parseUsageEvent({ ...base, metric: "mau", device_id: "d" }, 0);
    const b = parseUsageEvent(
      {
        device_id: "d",
        metric: "mau",
        timestamp: "2026-11-26T11:00:00.000Z",
        app_id: "app",
        org_id: "org_1",
        id: "e1",
      },
      3,
    );
    if (!a.ok || !b.ok) throw new Error("both events are valid");
    expect(canonicalEvent(a.event)).toBe(canonicalEvent(b.event));
    const other = parseUsageEvent({ ...base, metric: "mau", device_id: "e" }, 0);
    if (!other.ok) throw new Error("valid");
    expect(canonicalEvent(other.event)).not.toBe(canonicalEvent(a.event));
  });
});

describe("the fast path of parseUsageEvent", () => {
  const pick = <T>(...values: T[]) => fc.constantFrom(...values);
  const text = fc.oneof(
    pick("e1", "app.one", "a b", "", "-x", "x".repeat(129), "device\u0000", "ü", "org_01abc", "ORG_1"),
    fc.string({ maxLength: 12 }),
  );
  const timestamp = fc.oneof(
    fc
      .date({
        min: new Date("0900-01-01T00:00:00Z"),
        max: new Date("2100-01-01T00:00:00Z"),
        noInvalidDate: true,
      })
      .map((date) => date.toISOString()),
    pick(
      "2026-11-26T12:00:00Z",
      "2026-11-26T12:00:00+01:00",
      "2026-11-26T12:00:00.5-05:30",
      "2026-02-29T00:00:00Z",
      "2028-02-29T00:00:00Z",
      "2026-13-01T00:00:00Z",
      "2026-11-31T00:00:00Z",
      "2026-11-26T24:00:00Z",
      "2026-11-26T12:00:60Z",
      "2026-11-26T12:00:00+24:00",
      "2026-11-26T12:00:00+0100",
      "2026-11-26T12:00:00.0001Z",
      "2026-11-26 12:00:00Z",
      "2026-11-26T12:00Z",
    ),
  );
  const value = fc.oneof(
    fc.integer({ min: -5, max: 1_000_000 }),
    pick<number | string>(
      1.5,
      Number.MAX_SAFE_INTEGER,
      Number.MAX_SAFE_INTEGER + 2,
      "123",
      "9223372036854775807",
      "9223372036854775808",
      "-1",
      "1e3",
    ),
  );
  const mostly = <T>(valid: fc.Arbitrary<T>, other: fc.Arbitrary<T>) =>
    fc.oneof({ arbitrary: valid, weight: 6 }, { arbitrary: other, weight: 1 });
  const rawEvent = fc.record(
    {
      id: mostly(pick("evt-1", "a:b@c/d"), text),
      org_id: mostly(pick("org_01m8bxgh2khd5er0redq51xcnm"), text),
      app_id: mostly(pick("ios"), text),
      metric: mostly(pick("mau", "bandwidth", "storage", "build_minutes"), fc.oneof(pick("cpu"), text)),
      timestamp,
      device_id: mostly(pick("device-42"), text),
      value,
    },
    { requiredKeys: ["id", "org_id", "app_id", "metric", "timestamp"] },
  );
  const withExtras = fc
    .tuple(rawEvent, fc.integer({ min: 0, max: 19 }))
    .map(([event, dice]) =>
      dice === 0 ? { ...event, extra: 1 } : dice === 1 ? { ...event, id: undefined } : event,
    );

  it("accepts only what the schema accepts, and reads it the same", () => {
    let taken = 0;
    fc.assert(
      fc.property(withExtras, (raw) => {
        const fast = readWellFormedEvent(raw);
        const slow = parseBySchema(raw, 0);
        if (fast) {
          taken += 1;
          expect(slow).toEqual({ ok: true, event: fast });
        }
      }),
      { numRuns: 20_000 },
    );
    // The property means something only if the fast path was taken often.
    expect(taken).toBeGreaterThan(500);
  });

  it("takes the fast path for ordinary events", () => {
    const base = { id: "e1", org_id: "org_1", app_id: "ios", timestamp: "2026-11-26T12:00:00.123Z" };
    expect(readWellFormedEvent({ ...base, metric: "mau", device_id: "d-1" })).not.toBeNull();
    expect(readWellFormedEvent({ ...base, metric: "bandwidth", value: 1024 })).not.toBeNull();
    expect(readWellFormedEvent({ ...base, metric: "storage", value: "9223372036854775807" })).not.toBeNull();
  });
});
