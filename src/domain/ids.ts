import { randomBytes } from "node:crypto";

const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"; // Crockford base32, lower case

export type IdKind = "usr" | "org" | "key" | "ses" | "sbs" | "csr" | "grt" | "led" | "eml";

let lastTime = -1;
/** The random part of the last id, as 16 base32 digits (5 bits each), for the same-millisecond case. */
let lastRandom: number[] = [];

/**
 * A prefixed, time-ordered id: `org_` + 10 characters of milliseconds + 16 random characters.
 * Ids sort by creation time, which keeps cursor pagination and index inserts cheap; within one
 * millisecond, ids from this process follow one another (the random part counts up), so a ledger
 * written in one millisecond still reads in the order it was written.
 */
export function newId(kind: IdKind, now: number = Date.now()): string {
  let time = "";
  let ms = now;
  for (let i = 0; i < 10; i++) {
    time = alphabet[ms % 32] + time;
    ms = Math.floor(ms / 32);
  }
  if (now === lastTime) {
    increment(lastRandom);
  } else {
    lastTime = now;
    // The top bit of the first digit stays clear, so counting up cannot overflow in practice.
    lastRandom = [...randomBytes(16)].map((byte, index) => (index === 0 ? byte % 16 : byte % 32));
  }
  return `${kind}_${time}${lastRandom.map((digit) => alphabet[digit]).join("")}`;
}

function increment(digits: number[]): void {
  for (let i = digits.length - 1; i >= 0; i--) {
    const digit = (digits[i] ?? 0) + 1;
    if (digit < 32) {
      digits[i] = digit;
      return;
    }
    digits[i] = 0;
  }
}
