import { createHash, randomBytes } from "node:crypto";

/** 256 random bits, URL-safe. */
export function newSecretToken(): string {
  return randomBytes(32).toString("base64url");
}

/**
 * Session tokens and API keys carry 256 random bits, so a fast hash is enough to make the
 * stored value useless to whoever reads the table; passwords get the slow hash instead.
 */
export function sha256Hex(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}
