import { randomBytes } from "node:crypto";

/**
 * 256 random bits, URL-safe. Session tokens and API keys are this long, so a fast hash
 * (`sha256Hex`) is enough to make their stored form useless to whoever reads the table;
 * passwords get the slow hash instead.
 */
export function newSecretToken(): string {
  return randomBytes(32).toString("base64url");
}
