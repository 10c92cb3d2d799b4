import { expect, it } from "vitest";
import { createApiKey } from "../../src/services/accounts/apiKeys.js";
import { describeEachEngine, expectError, makeTeam } from "../support/app.js";

describeEachEngine("POST /v1/usage/events", (ctx) => {
  const url = "/v1/usage/events";
  const send = (key: string | undefined, payload: unknown) =>
    ctx.app.inject({
      method: "POST",
      url,
      headers: key ? { authorization: `Bearer ${key}` } : {},
      payload: payload as object,
    });

  async function setup() {
    const team = await makeTeam(ctx.app);
    const created = await team.owner.request("POST", `/v1/orgs/${team.org.id}/api-keys`, {
      name: "ingest",
      scopes: ["usage:write"],
    });
    const readOnly = await team.owner.request("POST", `/v1/orgs/${team.org.id}/api-keys`, {
      name: "check",
      scopes: ["entitlements:read"],
    });
    return {
      ...team,
      key: created.json().key as string,
      keyId: created.json().id as string,
      readOnlyKey: readOnly.json().key as string,
    };
  }

  const now = () => new Date().toISOString();
  let seq = 0;
  const eventId = () => `evt-${Date.now()}-${++seq}`;

  it("needs a service key with usage:write: 401 without or with a bad key, 403 with the wrong scope", async () => {
    const { org, readOnlyKey, owner } = await setup();
    const body = {
      events: [
        { id: eventId(), org_id: org.id, app_id: "app", metric: "mau", timestamp: now(), device_id: "d1" },
      ],
    };
    expectError(await send(undefined, body), 401, "unauthenticated");
    expectError(await send("ml_not-a-real-key", body), 401, "unauthenticated");
    expectError(await send(readOnlyKey, body), 403, "forbidden");
    // A console session is not a service key.
    expectError(await owner.request("POST", url, body), 401, "unauthenticated");
  });

  it("limits each key to 100 batches a second after a burst of 200, with Retry-After", async () => {
    const { org, key } = await setup();
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof send>> | null = null;
    // Waves of 100 at once spend faster than 100 a second refills, however slow this machine is:
    // one request after another would not when each takes over 10 ms.
    for (let wave = 0; wave < 20 && !limited; wave++) {
      const replies = await Promise.all(
        Array.from({ length: 100 }, () =>
          send(key, {
            events: [
              { id: eventId(), org_id: org.id, app_id: "a", metric: "mau", device_id: "d", timestamp: now() },
            ],
          }),
        ),
      );
      for (const reply of replies) {
        statuses.push(reply.statusCode);
        if (reply.statusCode === 429) limited ??= reply;
      }
    }
    expect(limited).not.toBeNull();
    if (!limited) return;
    expectError(limited, 429, "rate_limited");
    expect(Number(limited.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThanOrEqual(200);
    // Another key has its own allowance.
    const second = await setup();
    const other = await send(second.key, {
      events: [
        {
          id: eventId(),
          org_id: second.org.id,
          app_id: "a",
          metric: "mau",
          device_id: "d",
          timestamp: now(),
        },
      ],
    });
    expect(other.json()).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
  });

  it("judges late events by the org's own billing cycle, 48 hours of grace before it began", async () => {
    const { org, key } = await setup();
    // Cycles starting today, as for an org that subscribed today.
    const today = new Date(ctx.clock.now().toISOString().slice(0, 10));
    await ctx.db.kysely
      .updateTable("orgs")
      .set({ cycle_anchor_day: today.getUTCDate() })
      .where("id", "=", org.id)
      .execute();
    const hour = 3_600_000;
    const at = (hoursBeforeToday: number) =>
      new Date(today.getTime() - hoursBeforeToday * hour).toISOString();
    const reply = await send(key, {
      events: [
        { id: eventId(), org_id: org.id, app_id: "a", metric: "mau", device_id: "late", timestamp: at(47) },
        {
          id: eventId(),
          org_id: org.id,
          app_id: "a",
          metric: "mau",
          device_id: "too-late",
          timestamp: at(49),
        },
      ],
    });
    expect(reply.json()).toMatchObject({ accepted: 1, rejected: [{ index: 1, code: "event_too_old" }] });
  });

  it("gives each repeat of a refused late event its own answer, and keeps the rest of the batch", async () => {
    const { org, key } = await setup();
    const old = new Date(Date.now() - 90 * 86_400_000).toISOString();
    const base = { org_id: org.id, app_id: "a", metric: "mau" };
    const late = { ...base, id: eventId(), device_id: "d", timestamp: old };
    const reused = eventId();
    const reply = await send(key, {
      events: [
        late,
        late,
        { ...base, id: reused, device_id: "d", timestamp: old },
        { ...base, id: reused, device_id: "d2", timestamp: now() },
        { ...base, id: eventId(), device_id: "d3", timestamp: now() },
      ],
    });
    expect(reply.statusCode, reply.body).toBe(200);
    expect(reply.json()).toMatchObject({
      accepted: 1,
      duplicates: 0,
      rejected: [
        { index: 0, code: "event_too_old" },
        { index: 1, code: "event_too_old" },
        { index: 2, code: "event_too_old" },
        { index: 3, code: "id_conflict" },
      ],
    });
  });

  it("judges each event's timestamp on its own, even one the database cannot store: the rest of the batch is kept", async () => {
    const { org, otherOrg } = await setup();
    const { key: platform } = await createApiKey({
      db: ctx.db.kysely,
      orgId: null,
      name: "platform",
      scopes: ["usage:write"],
      createdBy: null,
      now: new Date(),
    });
    const event = (orgId: string, timestamp: string) => ({
      id: eventId(),
      org_id: orgId,
      app_id: "a",
      metric: "bandwidth",
      value: 1,
      timestamp,
    });
    // The year 0000 (no such year in PostgreSQL's calendar), the first instant JavaScript can
    // name past ±10,000 years (refused as text), the Unix epoch and a century ago: each refused alone.
    const refused = [
      "0000-01-01T00:00:00Z",
      "0001-01-01T00:00:00+14:00",
      "1970-01-01T00:00:00Z",
      "1926-12-04T00:00:00Z",
      "9999-12-31T23:59:59.999Z",
    ];
    const events = [
      event(org.id, now()),
      ...refused.map((timestamp) => event(org.id, timestamp)),
      event(otherOrg.id, now()),
    ];
    const reply = await send(platform, { events });
    expect(reply.statusCode, reply.body).toBe(200);
    expect(reply.json()).toMatchObject({
      accepted: 2,
      duplicates: 0,
      rejected: [
        { index: 1, code: "event_too_old" },
        { index: 2, code: "event_too_old" },
        { index: 3, code: "event_too_old" },
        { index: 4, code: "event_too_old" },
        { index: 5, code: "event_too_new" },
      ],
    });
    // A sender retrying the same batch gets the same answers, the kept events as duplicates.
    expect((await send(platform, { events })).json()).toMatchObject({ accepted: 0, duplicates: 2 });
  });

  it("sums the largest values without overflowing a day's total", async () => {
    const { org, key } = await setup();
    const huge = "9223372036854775807";
    const event = () => ({
      id: eventId(),
      org_id: org.id,
      app_id: "a",
      metric: "bandwidth",
      value: huge,
      timestamp: now(),
    });
    expect((await send(key, { events: [event(), event()] })).json()).toMatchObject({ accepted: 2 });
    expect((await send(key, { events: [event()] })).json()).toMatchObject({ accepted: 1 });
  });

  it("accepts a batch, counts a repeat once, and refuses another event under a used id", async () => {
    const { org, key } = await setup();
    const base = { org_id: org.id, app_id: "app.one", timestamp: now() };
    const first = { ...base, id: eventId(), metric: "bandwidth", value: 1_048_576 };
    const second = { ...base, id: eventId(), metric: "mau", device_id: "device-1" };
    const reply = await send(key, { events: [first, second] });
    expect(reply.statusCode).toBe(200);
    expect(reply.json()).toEqual({ accepted: 2, duplicates: 0, rejected: [] });

    const again = await send(key, { events: [second, first, { ...first, value: 5 }, first] });
    expect(again.json()).toEqual({
      accepted: 0,
      duplicates: 3,
      rejected: [{ index: 2, code: "id_conflict", message: expect.stringContaining("different event") }],
    });
    const stored = await ctx.db.kysely
      .selectFrom("usage_events")
      .selectAll()
      .where("org_id", "=", org.id)
      .execute();
    expect(stored).toHaveLength(2);
    expect(stored.find((row) => row.id === first.id)?.value).toBe(1_048_576n);
  });

  it("judges repeats inside one batch like repeats across batches", async () => {
    const { org, key } = await setup();
    const event = {
      id: eventId(),
      org_id: org.id,
      app_id: "a",
      metric: "storage",
      timestamp: now(),
      value: "9007199254740993",
    };
    const reply = await send(key, { events: [event, event, { ...event, value: "1" }] });
    expect(reply.json()).toMatchObject({
      accepted: 1,
      duplicates: 1,
      rejected: [{ index: 2, code: "id_conflict" }],
    });
    const row = await ctx.db.kysely
      .selectFrom("usage_events")
      .select("value")
      .where("id", "=", event.id)
      .executeTakeFirstOrThrow();
    expect(row.value).toBe(9007199254740993n);
  });

  it("tells a late retry of a stored event that it was kept, and refuses a new one that late", async () => {
    const { org, key } = await setup();
    const event = {
      id: eventId(),
      org_id: org.id,
      app_id: "a",
      metric: "mau",
      timestamp: now(),
      device_id: "d",
    };
    expect((await send(key, { events: [event] })).json().accepted).toBe(1);
    ctx.clock.offsetMs = 70 * 86_400_000;
    try {
      const late = await send(key, { events: [event, { ...event, id: eventId() }] });
      expect(late.json()).toMatchObject({
        accepted: 0,
        duplicates: 1,
        rejected: [{ index: 1, code: "event_too_old" }],
      });
    } finally {
      ctx.clock.offsetMs = 0;
    }
  });

  it("rejects each bad event on its own, naming the field, and keeps the good ones", async () => {
    const { org, key } = await setup();
    const ok = {
      id: eventId(),
      org_id: org.id,
      app_id: "a",
      metric: "build_minutes",
      timestamp: now(),
      value: 90,
    };
    const events = [
      ok,
      { ...ok, id: eventId(), metric: "mau", value: undefined },
      { ...ok, id: eventId(), value: -1 },
      { ...ok, id: eventId(), metric: "coffee" },
      { ...ok, id: eventId(), extra: true },
      { ...ok, id: eventId(), timestamp: new Date(Date.now() + 10 * 60_000).toISOString() },
      { ...ok, id: eventId(), timestamp: "2020-01-01T00:00:00Z" },
      { ...ok, id: eventId(), device_id: "d" },
      "not an object",
      { ...ok, id: eventId(), metric: "mau", value: undefined, device_id: "nul\u0000byte" },
      { ...ok, id: eventId(), org_id: "org_\u0000" },
    ];
    const reply = (await send(key, { events })).json();
    expect(reply.accepted).toBe(1);
    expect(reply.rejected.map((r: { index: number; code: string }) => [r.index, r.code])).toEqual([
      [1, "invalid_event"],
      [2, "invalid_event"],
      [3, "invalid_event"],
      [4, "invalid_event"],
      [5, "event_too_new"],
      [6, "event_too_old"],
      [7, "invalid_event"],
      [8, "invalid_event"],
      [9, "invalid_event"],
      [10, "invalid_event"],
    ]);
    const messages = reply.rejected.map((r: { message: string }) => r.message);
    expect(messages[0]).toContain("events[1].device_id: required for mau");
    expect(messages[1]).toContain("events[2].value");
    expect(messages[2]).toContain("events[3].metric");
    expect(messages[3]).toContain("events[4].extra: unknown field");
    expect(messages[6]).toContain("events[7].device_id");
    expect(messages[8]).toContain("events[9].device_id: must not contain control characters");
    expect(messages[9]).toContain("events[10].org_id");
  });

  it("an org-bound key reports only for its own org: another org's id is refused like an unknown one", async () => {
    const { key, otherOrg, org } = await setup();
    const event = { id: eventId(), app_id: "a", metric: "mau", timestamp: now(), device_id: "d" };
    const reply = await send(key, {
      events: [
        { ...event, org_id: otherOrg.id },
        { ...event, id: eventId(), org_id: "org_nope" },
      ],
    });
    expect(reply.json()).toMatchObject({
      accepted: 0,
      rejected: [
        { index: 0, code: "unknown_org" },
        { index: 1, code: "unknown_org" },
      ],
    });
    const leaked = await ctx.db.kysely
      .selectFrom("usage_events")
      .select("id")
      .where("org_id", "=", otherOrg.id)
      .execute();
    expect(leaked).toEqual([]);
    expect(reply.json().rejected[0].message).toBe(reply.json().rejected[0].message.replace(org.id, ""));
  });

  it("a revoked key stops working at once", async () => {
    const { org, key, keyId, owner } = await setup();
    await owner.request("DELETE", `/v1/orgs/${org.id}/api-keys/${keyId}`);
    const body = {
      events: [
        { id: eventId(), org_id: org.id, app_id: "a", metric: "mau", timestamp: now(), device_id: "d" },
      ],
    };
    expectError(await send(key, body), 401, "unauthenticated");
  });

  it("refuses malformed batches whole: empty, over 1,000 events, or not a list", async () => {
    const { org, key } = await setup();
    const event = { id: "x", org_id: org.id, app_id: "a", metric: "mau", timestamp: now(), device_id: "d" };
    expect(expectError(await send(key, { events: [] }), 400, "invalid_request").message).toContain(
      "body.events",
    );
    const tooMany = Array.from({ length: 1001 }, (_, i) => ({ ...event, id: `e${i}` }));
    expect(expectError(await send(key, { events: tooMany }), 400, "invalid_request").message).toContain(
      "body.events",
    );
    expectError(await send(key, { events: "all" }), 400, "invalid_request");
    const stored = await ctx.db.kysely
      .selectFrom("usage_events")
      .select("id")
      .where("org_id", "=", org.id)
      .execute();
    expect(stored).toEqual([]);
  });
});
