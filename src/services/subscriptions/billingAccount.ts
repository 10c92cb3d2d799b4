import type { Kysely } from "kysely";
import { findOrg } from "../../db/orgRepo.js";
import type { Schema } from "../../db/schema.js";
import { findCustomerId, saveCustomerId } from "../../db/subscriptionRepo.js";
import { findUserById } from "../../db/userRepo.js";
import { AppError } from "../../domain/errors.js";
import type { StripeGateway } from "../../stripe/gateway.js";

/**
 * The organization's Stripe customer, created on first need; one per organization. Its email is
 * the organization's billing email once confirmed, else that of the person paying (`userId`), so
 * Stripe's own receipts never go to an address no one has confirmed.
 */
export async function ensureStripeCustomer({
  db,
  stripe,
  orgId,
  userId,
}: {
  db: Kysely<Schema>;
  stripe: StripeGateway;
  orgId: string;
  userId: string;
}): Promise<string> {
  const known = await findCustomerId(db, orgId);
  if (known) return known;
  const org = await findOrg(db, orgId);
  if (!org) throw new AppError("not_found", "organization not found");
  const email = org.billing_email_confirmed_at ? org.billing_email : (await findUserById(db, userId))?.email;
  if (!email) throw new AppError("not_found", "user not found");
  const customerId = await stripe.createCustomer({ orgId, name: org.name, email, country: org.country });
  return saveCustomerId(db, { orgId, customerId });
}
