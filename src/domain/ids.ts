import { randomBytes } from "node:crypto";

const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"; // Crockford base32, lower case

export type IdKind = "usr" | "org" | "key" | "ses" | "sbs" | "csr" | "grt" | "led";

/**
 * A prefixed, time-ordered id: `org_` + 10 characters of milliseconds + 16 random characters.
 * Ids sort by creation time, which keeps cursor pagination and index inserts cheap.
 */
export function newId(kind: IdKind, now: number = Date.now()): string {
  let time = "";
  let ms = now;
  for (let i = 0; i < 10; i++) {
    time = alphabet[ms % 32] + time;
    ms = Math.floor(ms / 32);
  }
  const bytes = randomBytes(16);
  let random = "";
  for (const byte of bytes) random += alphabet[byte % 32];
  return `${kind}_${time}${random}`;
}
