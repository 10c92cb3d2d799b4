import type { Kysely } from "kysely";
import { findDeviceCookieEmail, insertDeviceCookie, pruneDeviceCookies } from "../../db/deviceCookieRepo.js";
import type { Schema } from "../../db/schema.js";
import { sha256Hex } from "../../domain/sha256.js";
import { newSecretToken } from "./secretTokens.js";

export const DEVICE_COOKIE_DAYS = 365;
/** Browsers remembered per account: a script signing in without keeping cookies adds no more. */
export const DEVICES_KEPT = 50;

export interface DeviceCookie {
  /** The cookie's value; only its hash is stored. */
  token: string;
  expiresAt: Date;
}

/**
 * Remembers the browser that just signed in to `userId`: its later sign-ins to that account are
 * limited per device rather than by the account's limit, which guessing from elsewhere exhausts.
 */
export async function rememberDevice({
  db,
  userId,
  now,
}: {
  db: Kysely<Schema>;
  userId: string;
  now: Date;
}): Promise<DeviceCookie> {
  const token = newSecretToken();
  const expiresAt = new Date(now.getTime() + DEVICE_COOKIE_DAYS * 86_400_000);
  await insertDeviceCookie(db, { id: sha256Hex(token), userId, expiresAt });
  await pruneDeviceCookies(db, { userId, now, keep: DEVICES_KEPT });
  return { token, expiresAt };
}

/**
 * The device's id (its cookie's hash) when `token` is a live device cookie of the account signing
 * in as `email`; a cookie of another account, an expired or a made-up one proves nothing.
 */
export async function recognizeDevice({
  db,
  token,
  email,
  now,
}: {
  db: Kysely<Schema>;
  token: string | undefined;
  email: string;
  now: Date;
}): Promise<string | undefined> {
  if (!token) return undefined;
  const id = sha256Hex(token);
  const owner = await findDeviceCookieEmail(db, { id, now });
  return owner === email.trim().toLowerCase() ? id : undefined;
}
