import { createHmac, timingSafeEqual } from "node:crypto";

/** Stripe's tolerance for the signed timestamp, both ways: an older or newer signature is refused. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/**
 * Stripe signs each delivery with `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
 * "t.payload">`. Meterline only verifies; the signing side is Stripe's (and the local emulator's,
 * `signWebhookPayload` in `@meterline/stripe-emulator`).
 */
export type SignatureCheck =
  | { ok: true }
  | { ok: false; reason: "missing_header" | "malformed_header" | "timestamp_out_of_tolerance" | "no_match" };

/**
 * Checks a delivery against every secret given (several while a secret is being rotated). The
 * payload must be the exact bytes received: a re-serialized body no longer matches.
 */
export function verifyWebhookSignature({
  payload,
  header,
  secrets,
  now,
  toleranceSeconds = SIGNATURE_TOLERANCE_SECONDS,
}: {
  payload: Buffer | string;
  header: string | undefined;
  secrets: readonly string[];
  now: Date;
  toleranceSeconds?: number;
}): SignatureCheck {
  if (!header) return { ok: false, reason: "missing_header" };
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(",")) {
    const [key, value] = part.split("=", 2);
    if (key === "t" && value && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    if (key === "v1" && value && /^[0-9a-f]{64}$/.test(value)) signatures.push(value);
  }
  if (timestamp === undefined || signatures.length === 0) return { ok: false, reason: "malformed_header" };
  if (Math.abs(now.getTime() / 1000 - timestamp) > toleranceSeconds) {
    return { ok: false, reason: "timestamp_out_of_tolerance" };
  }
  const signed = Buffer.concat([Buffer.from(`${timestamp}.`), Buffer.from(payload)]);
  for (const secret of secrets) {
    const expected = Buffer.from(hmac(secret, signed), "hex");
    for (const signature of signatures) {
      if (timingSafeEqual(expected, Buffer.from(signature, "hex"))) return { ok: true };
    }
  }
  return { ok: false, reason: "no_match" };
}

function hmac(secret: string, data: string | Buffer): string {
  return createHmac("sha256", secret).update(data).digest("hex");
}
