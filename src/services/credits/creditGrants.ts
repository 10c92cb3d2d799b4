import type { Kysely } from "kysely";
import { postOperation } from "../../db/creditPosting.js";
import type { CreditEntryRow } from "../../db/creditReads.js";
import { isForeignKeyViolation } from "../../db/pgErrors.js";
import type { Schema } from "../../db/schema.js";
import { AppError } from "../../domain/errors.js";
import { newId } from "../../domain/ids.js";
import { formatCredits, MICROS_PER_CREDIT } from "../../domain/money.js";

/** A purchase or a grant expires this long after it is made, unless told otherwise. */
const GRANT_LIFETIME_MONTHS = 12;
export const MAX_GRANT = 100_000n * MICROS_PER_CREDIT;

/**
 * Grants credits by hand (a platform admin, or `meterline credits grant`): a new grant and its
 * ledger entry, once per idempotency key.
 */
export async function grantCredits({
  db,
  orgId,
  amount,
  expiresAt,
  note,
  idempotencyKey,
  now,
}: {
  db: Kysely<Schema>;
  orgId: string;
  amount: bigint;
  expiresAt?: Date | undefined;
  note: string;
  idempotencyKey?: string | undefined;
  now: Date;
}): Promise<{ posted: boolean; entry: CreditEntryRow }> {
  if (amount <= 0n || amount > MAX_GRANT) {
    throw new AppError(
      "invalid_request",
      `amount: must be more than 0 and at most ${formatCredits(MAX_GRANT)} credits`,
    );
  }
  const expiry = expiresAt ?? defaultGrantExpiry(now);
  if (expiry <= now) throw new AppError("invalid_request", "expires_at: must be in the future");
  const { posted, entries } = await postOperation(db, {
    orgId,
    operationKey: `grant:${idempotencyKey ?? newId("grt", now.getTime())}`,
    newGrant: { source: "grant", amount, expiresAt: expiry, note },
    entries: [{ type: "grant", amount, grantId: "new", description: `Credits granted: ${note}` }],
    now,
  }).catch((error: unknown) => {
    // The organization's first credits open its account, which must name an organization.
    if (isForeignKeyViolation(error)) throw new AppError("not_found", `Organization ${orgId} not found`);
    throw error;
  });
  const entry = entries[0];
  if (!entry) throw new Error("a grant posted no entry");
  return { posted, entry };
}

/** When credits bought or granted at `now` expire unless told otherwise: GRANT_LIFETIME_MONTHS later. */
export function defaultGrantExpiry(now: Date): Date {
  const expiry = new Date(now);
  expiry.setUTCMonth(expiry.getUTCMonth() + GRANT_LIFETIME_MONTHS);
  return expiry;
}
