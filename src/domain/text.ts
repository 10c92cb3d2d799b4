import { z } from "zod";

/**
 * Text a person or a program typed: no control characters (PostgreSQL refuses NUL outright, and
 * the rest have no place in a name or an id) and no unpaired surrogate (no encoding can store one:
 * it would be saved as U+FFFD, not as sent), of a bounded length, trimmed unless every character
 * counts (a device id).
 */
export function plainText({
  max,
  trim = true,
  multiline = false,
}: {
  max: number;
  trim?: boolean;
  multiline?: boolean;
}) {
  return (trim ? z.string().trim() : z.string())
    .min(1)
    .max(max)
    .regex(
      multiline ? /^(?:[^\p{Cc}\p{Cs}]|[\t\n\r])*$/u : /^[^\p{Cc}\p{Cs}]*$/u,
      multiline
        ? "must not contain control characters other than tabs and line breaks, nor unpaired surrogates"
        : "must not contain control characters nor unpaired surrogates",
    );
}

/** An id we issued (`org_…`, `key_…`): checked for shape only; whether it exists is the caller's business. */
export const issuedId = z.string().regex(/^[a-z]{2,5}_[0-9a-z]{1,60}$/, "is not a valid id");
