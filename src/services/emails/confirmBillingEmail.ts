import type { Kysely } from "kysely";
import {
  insertBillingEmailConfirmation,
  lockBillingEmailConfirmation,
  markBillingEmailConfirmationUsed,
} from "../../db/billingEmailRepo.js";
import { queueEmail } from "../../db/emailRepo.js";
import { lockOrg, markBillingEmailConfirmed, type OrgRow } from "../../db/orgRepo.js";
import type { Schema } from "../../db/schema.js";
import { inTransaction } from "../../db/transaction.js";
import { AppError } from "../../domain/errors.js";
import { sha256Hex } from "../../domain/sha256.js";
import { enforceActionLimit } from "../accounts/enforceActionLimit.js";
import { newSecretToken } from "../accounts/secretTokens.js";

/** How long a confirmation link works. */
const LINK_DAYS = 7;

/** A confirmation token: the organization's id, a dot, and 256 random bits. */
export const billingEmailTokenPattern = /^(org_[0-9a-z]{1,60})\.[A-Za-z0-9_-]{43}$/;

/**
 * Whether a billing email someone sets is confirmed at once: only their own address, which
 * already receives the organization's billing mail as its owner or billing admin. Any other waits
 * for its link (`sendBillingEmailLink`).
 */
export function confirmedWhenSet({
  email,
  setBy,
  now,
}: {
  email: string;
  setBy: { email: string };
  now: Date;
}): Date | null {
  return email === setBy.email.toLowerCase() ? now : null;
}

/**
 * Emails the organization's pending billing address a link that confirms it, in the caller's
 * transaction. A person may set any address, so each link is mail to a stranger until confirmed:
 * they are limited per organization and day, like the actions they follow.
 */
export async function sendBillingEmailLink({
  tx,
  org,
  setBy,
  now,
}: {
  tx: Kysely<Schema>;
  org: Pick<OrgRow, "id" | "name" | "billing_email">;
  setBy: { name: string };
  now: Date;
}): Promise<void> {
  await enforceActionLimit({ tx, action: "billingEmailLinksPerOrg", actor: org.id, now });
  const token = `${org.id}.${newSecretToken()}`;
  const tokenHash = sha256Hex(token);
  const expiresAt = new Date(now.getTime() + LINK_DAYS * 86_400_000);
  await insertBillingEmailConfirmation(tx, {
    org_id: org.id,
    token_hash: tokenHash,
    email: org.billing_email,
    created_at: now,
    expires_at: expiresAt,
  });
  await queueEmail(tx, {
    orgId: org.id,
    dedupeKey: `billing_email_confirmation:${tokenHash}`,
    facts: {
      kind: "billing_email_confirmation",
      org_name: org.name,
      email: org.billing_email,
      set_by: setBy.name,
      token,
      expires_at: expiresAt.toISOString(),
    },
    to: [org.billing_email],
    now,
  });
}

/**
 * Confirms the billing email a link was sent to: from now on it receives the organization's
 * billing mail. A link works once, for 7 days, and only while its address is still the billing
 * email; anything else is refused with what happened.
 */
export async function confirmBillingEmail({
  db,
  token,
  now,
}: {
  db: Kysely<Schema>;
  token: string;
  now: Date;
}): Promise<{ orgName: string; email: string }> {
  const orgId = billingEmailTokenPattern.exec(token)?.[1];
  const invalid = new AppError(
    "invalid_token",
    "This confirmation link is not valid: check that the whole link was opened",
  );
  if (!orgId) throw invalid;
  return inTransaction(db, async (tx) => {
    const org = await lockOrg(tx, orgId);
    const tokenHash = sha256Hex(token);
    const link = org && (await lockBillingEmailConfirmation(tx, { orgId, tokenHash }));
    if (!org || !link) throw invalid;
    if (link.used_at) {
      throw new AppError("invalid_token", `This link was already used: ${link.email} is confirmed`);
    }
    if (link.expires_at.getTime() <= now.getTime()) {
      throw new AppError(
        "invalid_token",
        `This link expired on ${link.expires_at.toISOString()}; ask an owner of ${org.name} to set the billing email again for a new one`,
      );
    }
    const confirmed = await markBillingEmailConfirmed(tx, { orgId, email: link.email, now });
    if (!confirmed) {
      throw new AppError(
        "invalid_token",
        `${link.email} is no longer the billing email of ${org.name}: this link confirms nothing`,
      );
    }
    await markBillingEmailConfirmationUsed(tx, { orgId, tokenHash, now });
    return { orgName: confirmed.name, email: confirmed.billing_email };
  });
}
