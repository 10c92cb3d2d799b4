import { hash } from "node:crypto";

/** Hex SHA-256 of a string; the one-shot `hash` is about twice as fast as a Hash object. */
export function sha256Hex(value: string): string {
  return hash("sha256", value, "hex");
}
