import { createHmac } from "node:crypto";

/**
 * The `Stripe-Signature` header for a payload, as Stripe signs its deliveries:
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.payload">`. Exported so tests can sign forgeries
 * and deliveries of their own that a receiver must judge like Stripe's.
 */
export function signWebhookPayload({
  payload,
  secret,
  timestamp,
}: {
  payload: string;
  secret: string;
  timestamp: number;
}): string {
  const signature = createHmac("sha256", secret).update(`${timestamp}.${payload}`).digest("hex");
  return `t=${timestamp},v1=${signature}`;
}
