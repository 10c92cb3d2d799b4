import { z } from "zod";
import { roles } from "../domain/access.js";
import { type ForecastMethod, forecastMethods } from "../domain/forecast.js";
import { issuedId } from "../domain/text.js";
import { errorBody } from "./errors.js";

/** Schemas shared by several route files. Request objects are strict: unknown fields are rejected. */

export const email = z.email().max(254);
export const country = z
  .string()
  .regex(/^[A-Za-z]{2}$/, "must be a two-letter ISO 3166 country code, like FR")
  .transform((value) => value.toUpperCase());
export const role = z.enum(roles);
export const orgParams = z.strictObject({ org: issuedId });
/** The body of a write that takes none: nothing (or `null`) or `{}`; any field in it is unknown. */
export const noBody = z.strictObject({}).nullish();
/** An instant: a Date in handlers, an ISO 8601 string on the wire. */
export const timestamp = z.codec(z.iso.datetime({ offset: true }), z.date(), {
  decode: (text) => new Date(text),
  encode: (date) => date.toISOString(),
});

export const errorResponses = {
  400: errorBody,
  401: errorBody,
  403: errorBody,
  404: errorBody,
  409: errorBody,
};

/** One action's entitlement: allowed, or why not and what fixes it. */
export const entitlementView = z.object({
  allowed: z.boolean(),
  reason: z.string().nullable().describe("why not: mau_quota_exceeded, no_active_plan, …"),
  fix: z.string().nullable().describe("what makes it allowed again"),
});

/** How a metric's use at the cycle's end is projected (`domain/forecast.ts`). */
export const forecastMethod = z
  .enum(Object.keys(forecastMethods) as [ForecastMethod, ...ForecastMethod[]])
  .describe(
    `how the projection is made — ${Object.entries(forecastMethods)
      .map(([method, text]) => `${method}: ${text}`)
      .join("; ")}`,
  );
