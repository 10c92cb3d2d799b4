import { invalidRequest, isRecord, type StripeApiError } from "./params.js";

/**
 * The parameters a route accepts, checked before it runs: Stripe refuses a parameter it does not
 * know at any depth (400 `parameter_unknown`, `param` naming its full path such as
 * `line_items[0][foo]`), so a misspelt parameter fails here as it would in production instead of
 * being ignored. A field is a scalar (`true`), a hash of its own fields, a list of one kind
 * (`[field]`), free keys of scalars (`"map"`, metadata), or anything (`"any"`: a parameter the
 * emulator refuses by itself with a better message). A scalar's reader checks its type; an empty
 * string, which unsets a field, is accepted anywhere.
 */
export type Field = true | "map" | "any" | Shape | readonly [Field];
export interface Shape {
  readonly [key: string]: Field;
}

/** Stripe's list parameters: page size, cursors and the `created` filter. */
export const LIST: Shape = {
  limit: true,
  starting_after: true,
  ending_before: true,
  created: { gt: true, gte: true, lt: true, lte: true },
};

export const ADDRESS: Shape = {
  city: true,
  country: true,
  line1: true,
  line2: true,
  postal_code: true,
  state: true,
};

/** The first parameter of `input` that `shape` does not name, as a 400 `parameter_unknown`. */
export function refuseUnknown({ shape, input }: { shape: Shape; input: unknown }): StripeApiError | null {
  const unknown = isRecord(input) ? unknownIn(shape, input, "") : null;
  if (unknown === null) return null;
  return invalidRequest(`Received unknown parameter: ${unknown}`, unknown, "parameter_unknown");
}

function unknownIn(shape: Shape, values: Record<string, unknown>, prefix: string): string | null {
  for (const [key, value] of Object.entries(values)) {
    const name = prefix === "" ? key : `${prefix}[${key}]`;
    const field = Object.hasOwn(shape, key) ? shape[key] : undefined;
    if (field === undefined) return name;
    const unknown = unknownInField(field, value, name);
    if (unknown !== null) return unknown;
  }
  return null;
}

function unknownInField(field: Field, value: unknown, name: string): string | null {
  if (!isRecord(value) && !Array.isArray(value)) return null;
  if (field === "any") return null;
  if (field === "map") return Array.isArray(value) ? `${name}[0]` : null;
  if (Array.isArray(field)) {
    const [item] = field as readonly [Field];
    if (!Array.isArray(value)) return firstKey(value, name);
    for (const [index, entry] of value.entries()) {
      const unknown = unknownInField(item, entry, `${name}[${index}]`);
      if (unknown !== null) return unknown;
    }
    return null;
  }
  if (field === true) return Array.isArray(value) ? `${name}[0]` : firstKey(value, name);
  if (Array.isArray(value)) return `${name}[0]`;
  return unknownIn(field as Shape, value, name);
}

function firstKey(value: Record<string, unknown>, name: string): string | null {
  const [key] = Object.keys(value);
  return key === undefined ? null : `${name}[${key}]`;
}
