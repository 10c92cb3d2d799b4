import { describe, expect, it } from "vitest";
import { canonicalEvent, checkEventTime, parseUsageEvent } from "./usageEvents.js";

const now = new Date("2026-11-26T12:00:00Z");

describe("checkEventTime", () => {
  it.each([
    { name: "now", at: "2026-11-26T12:00:00Z", anchorDay: 1, expected: null },
    { name: "exactly 5 minutes ahead", at: "2026-11-26T12:05:00Z", anchorDay: 1, expected: null },
    {
      name: "5 minutes and 1 ms ahead",
      at: "2026-11-26T12:05:00.001Z",
      anchorDay: 1,
      expected: "event_too_new",
    },
    { name: "start of the grace after October", at: "2026-10-30T00:00:00Z", anchorDay: 1, expected: null },
    {
      name: "just before the grace",
      at: "2026-10-29T23:59:59.999Z",
      anchorDay: 1,
      expected: "event_too_old",
    },
    { name: "anchor 20: inside this cycle", at: "2026-11-20T00:00:00Z", anchorDay: 20, expected: null },
    { name: "anchor 20: inside the grace", at: "2026-11-18T00:00:00Z", anchorDay: 20, expected: null },
    {
      name: "anchor 20: before the grace",
      at: "2026-11-17T23:59:59Z",
      anchorDay: 20,
      expected: "event_too_old",
    },
  ])("$name → $expected", ({ at, anchorDay, expected }) => {
    expect(checkEventTime({ occurredAt: new Date(at), now, anchorDay })?.code ?? null).toBe(expected);
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
