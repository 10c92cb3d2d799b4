import { z } from "zod";
import { type CycleSchedule, cycleAt, MAX_CYCLE_DAYS } from "./cycles.js";
import { issuedId, plainText } from "./text.js";

/** The metered quantities (SPEC §3). */
export const metrics = ["mau", "bandwidth", "storage", "build_minutes"] as const;
export type Metric = (typeof metrics)[number];

export interface UsageEvent {
  id: string;
  orgId: string;
  appId: string;
  metric: Metric;
  occurredAt: Date;
  /** The device, for `mau`; null otherwise. */
  deviceId: string | null;
  /** Bytes (bandwidth, storage) or seconds (build_minutes); null for `mau`. */
  value: bigint | null;
}

export type EventRejection = { code: "invalid_event" | "event_too_new" | "event_too_old"; message: string };

/** How far ahead of our clock an event may claim to be, and how late one may arrive. */
export const FUTURE_TOLERANCE_MS = 5 * 60_000;
export const LATE_GRACE_MS = 48 * 3_600_000;

const identifier = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:@/-]*$/, "must be letters, digits and _ . : @ / -");

const quantity = z
  .union([z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER), z.string().regex(/^\d{1,19}$/)])
  .transform((value) => BigInt(value))
  .refine((value) => value <= 9_223_372_036_854_775_807n, "must fit in 64 bits");

const eventSchema = z
  .strictObject({
    id: identifier,
    org_id: issuedId,
    app_id: identifier,
    metric: z.enum(metrics),
    // Milliseconds at most: the stored instant keeps no more, so two events differing below
    // that could not be told apart.
    timestamp: z.iso
      .datetime({ offset: true })
      .refine((text) => !/\.\d{4,}/.test(text), "must not be more precise than milliseconds"),
    device_id: plainText({ max: 256, trim: false }).optional(),
    value: quantity.optional(),
  })
  .superRefine((event, ctx) => {
    if (event.metric === "mau") {
      if (event.device_id === undefined)
        ctx.addIssue({ code: "custom", path: ["device_id"], message: "required for mau" });
      if (event.value !== undefined)
        ctx.addIssue({ code: "custom", path: ["value"], message: "not allowed for mau" });
    } else {
      if (event.value === undefined) {
        ctx.addIssue({ code: "custom", path: ["value"], message: `required for ${event.metric}` });
      }
      if (event.device_id !== undefined) {
        ctx.addIssue({ code: "custom", path: ["device_id"], message: `only for mau, not ${event.metric}` });
      }
    }
  });

/**
 * Validates one raw event on its own; messages name the field, e.g. `events[3].device_id`.
 * Well-formed events, nearly all of them, take a hand-written path that accepts a subset of
 * what the schema does and answers the same; anything else goes through the schema, which
 * explains what is wrong. A property test holds the two together.
 */
export function parseUsageEvent(
  raw: unknown,
  index: number,
): { ok: true; event: UsageEvent } | { ok: false; rejection: EventRejection } {
  const fast = readWellFormedEvent(raw);
  return fast ? { ok: true, event: fast } : parseBySchema(raw, index);
}

/** The schema's judgement of a raw event, with a message naming each field at fault. */
export function parseBySchema(
  raw: unknown,
  index: number,
): { ok: true; event: UsageEvent } | { ok: false; rejection: EventRejection } {
  const parsed = eventSchema.safeParse(raw);
  if (!parsed.success) {
    const message = parsed.error.issues
      .flatMap((issue) => {
        const field = [`events[${index}]`, ...issue.path.map(String)].join(".");
        if (issue.code === "unrecognized_keys")
          return issue.keys.map((key) => `${field}.${key}: unknown field`);
        return [`${field}: ${issue.message}`];
      })
      .join("; ");
    return { ok: false, rejection: { code: "invalid_event", message } };
  }
  const e = parsed.data;
  return {
    ok: true,
    event: {
      id: e.id,
      orgId: e.org_id,
      appId: e.app_id,
      metric: e.metric,
      occurredAt: new Date(e.timestamp),
      deviceId: e.device_id ?? null,
      value: e.value ?? null,
    },
  };
}

/**
 * SPEC §3: an event more than 5 minutes ahead of us is refused (`tooNew`), and so is one from
 * before the previous cycle's end (this cycle's start) minus 48 hours (`tooOld`); a late event
 * inside the grace counts in its own cycle.
 *
 * Example: on 2026-11-26 with calendar cycles, 2026-10-30T00:00Z is accepted (inside the grace
 * after October ended) and 2026-10-29T23:59Z is refused.
 */
export function tooNew({ occurredAt, now }: { occurredAt: Date; now: Date }): EventRejection | null {
  if (occurredAt.getTime() <= now.getTime() + FUTURE_TOLERANCE_MS) return null;
  return {
    code: "event_too_new",
    message: "timestamp is more than 5 minutes in the future; check the sender's clock",
  };
}

export function tooOld({
  occurredAt,
  now,
  schedule,
}: {
  occurredAt: Date;
  now: Date;
  schedule: CycleSchedule;
}): EventRejection | null {
  const earliest = cycleAt({ at: now, schedule }).start.getTime() - LATE_GRACE_MS;
  if (occurredAt.getTime() >= earliest) return null;
  return {
    code: "event_too_old",
    message: `timestamp is before ${new Date(earliest).toISOString()}: the previous cycle is closed`,
  };
}

/**
 * Too old for any organization's cycles, whatever they are: no cycle runs longer than
 * MAX_CYCLE_DAYS, so nothing this old is ever accepted. Judged before anything reaches the
 * database, which cannot even store some instants a timestamp can name (the year 0000).
 */
export function tooOldForAnyCycle({
  occurredAt,
  now,
}: {
  occurredAt: Date;
  now: Date;
}): EventRejection | null {
  const earliest = now.getTime() - MAX_CYCLE_DAYS * 86_400_000 - LATE_GRACE_MS;
  if (occurredAt.getTime() >= earliest) return null;
  return {
    code: "event_too_old",
    message: `timestamp is before ${new Date(earliest).toISOString()}: its cycle is closed`,
  };
}

const identifierPattern = /^[A-Za-z0-9][A-Za-z0-9_.:@/-]{0,127}$/;
const issuedIdPattern = /^[a-z]{2,5}_[0-9a-z]{1,60}$/;
/** What `plainText` refuses in a device id: control characters and unpaired surrogates. */
const unstorableCharacter = /[\p{Cc}\p{Cs}]/u;
const timestampPattern =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,3})?(?:Z|([+-])(\d{2}):(\d{2}))$/;
const eventKeys = new Set(["id", "org_id", "app_id", "metric", "timestamp", "device_id", "value"]);
const MAX_INT8 = 9_223_372_036_854_775_807n;

/**
 * The fast path of `parseUsageEvent`: the event when it is plainly valid, else null (which
 * says nothing: the schema then decides). Stricter than the schema where that is simpler:
 * timestamps only as `YYYY-MM-DDTHH:MM:SS[.mmm](Z|±HH:MM)` of a real calendar instant.
 */
export function readWellFormedEvent(raw: unknown): UsageEvent | null {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return null;
  const event = raw as Record<string, unknown>;
  for (const key in event) if (!eventKeys.has(key)) return null;
  const { id, org_id, app_id, metric, timestamp, device_id, value } = event;
  if (typeof id !== "string" || !identifierPattern.test(id)) return null;
  if (typeof org_id !== "string" || !issuedIdPattern.test(org_id)) return null;
  if (typeof app_id !== "string" || !identifierPattern.test(app_id)) return null;
  if (typeof metric !== "string" || !(metrics as readonly string[]).includes(metric)) return null;
  const occurredAt = typeof timestamp === "string" ? readTimestamp(timestamp) : null;
  if (!occurredAt) return null;
  if (metric === "mau") {
    if (value !== undefined || typeof device_id !== "string") return null;
    if (device_id.length < 1 || device_id.length > 256 || unstorableCharacter.test(device_id)) return null;
    return { id, orgId: org_id, appId: app_id, metric, occurredAt, deviceId: device_id, value: null };
  }
  if (device_id !== undefined) return null;
  const quantity = readQuantity(value);
  if (quantity === null) return null;
  return {
    id,
    orgId: org_id,
    appId: app_id,
    metric: metric as Metric,
    occurredAt,
    deviceId: null,
    value: quantity,
  };
}

function readTimestamp(text: string): Date | null {
  const match = timestampPattern.exec(text);
  if (!match) return null;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (year < 1000 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59)
    return null;
  if (day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return null;
  const offsetHours = match[8];
  const offsetMinutes = match[9];
  if (offsetHours !== undefined && (Number(offsetHours) > 23 || Number(offsetMinutes) > 59)) return null;
  const at = new Date(text);
  return Number.isNaN(at.getTime()) ? null : at;
}

function readQuantity(value: unknown): bigint | null {
  if (typeof value === "number") {
    return Number.isSafeInteger(value) && value >= 0 ? BigInt(value) : null;
  }
  if (typeof value === "string" && /^\d{1,19}$/.test(value)) {
    const quantity = BigInt(value);
    return quantity <= MAX_INT8 ? quantity : null;
  }
  return null;
}

/** The fields that make two events with one id the same event; stable across key order. */
export function canonicalEvent(event: UsageEvent): string {
  return JSON.stringify([
    event.orgId,
    event.id,
    event.appId,
    event.metric,
    event.occurredAt.toISOString(),
    event.deviceId,
    event.value === null ? null : event.value.toString(),
  ]);
}
