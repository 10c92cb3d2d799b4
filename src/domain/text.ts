import { z } from "zod";

/**
 * Bidirectional controls: U+202A–U+202E (embeddings, overrides), U+2066–U+2069 (isolates),
 * U+200E and U+200F (marks), U+061C (Arabic letter mark). They make text display as something
 * else: "Acme\u202Eelgoog" reads "Acmegoogle" backwards, a key named "invoice\u202Egpj.exe"
 * shows as "invoiceexe.jpg".
 */
const bidiControls = "\\u061C\\u200E\\u200F\\u202A-\\u202E\\u2066-\\u2069";

/**
 * Text a person or a program typed: no control characters (PostgreSQL refuses NUL outright, and
 * the rest have no place in a name or an id) and no unpaired surrogate (no encoding can store one:
 * it would be saved as U+FFFD, not as sent), of a bounded length.
 *
 * Text that people read (a name, a note, a message) is trimmed and refuses bidirectional
 * controls too. `trim: false` is for an opaque identifier in which every character counts (a
 * device id): kept exactly as sent, bidirectional controls included, because it is matched and
 * counted, never shown as a name, and refusing it would lose usage a product reports.
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
  const refused = trim ? `\\p{Cc}\\p{Cs}${bidiControls}` : "\\p{Cc}\\p{Cs}";
  const pattern = multiline ? `^(?:[^${refused}]|[\\t\\n\\r])*$` : `^[^${refused}]*$`;
  const controls = multiline ? "control characters other than tabs and line breaks" : "control characters";
  return (trim ? z.string().trim() : z.string())
    .min(1)
    .max(max)
    .regex(
      new RegExp(pattern, "u"),
      `must not contain ${controls}${trim ? ", bidirectional controls" : ""} nor unpaired surrogates`,
    );
}

/** An id we issued (`org_…`, `key_…`): checked for shape only; whether it exists is the caller's business. */
export const issuedId = z.string().regex(/^[a-z]{2,5}_[0-9a-z]{1,60}$/, "is not a valid id");
