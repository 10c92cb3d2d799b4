import type { Kysely } from "kysely";
import type { Schema } from "../../db/schema.js";
import { consoleLinks } from "../../domain/consoleLinks.js";
import type { StripeGateway } from "../../stripe/gateway.js";
import { ensureStripeCustomer } from "./billingAccount.js";

/** A Stripe billing portal link for the organization's customer, returning to the Plans page. */
export async function openBillingPortal({
  db,
  stripe,
  publicUrl,
  orgId,
  userId,
}: {
  db: Kysely<Schema>;
  stripe: StripeGateway;
  publicUrl: string;
  orgId: string;
  /** Who opens it: the customer's email if Stripe has none yet and the billing email is unconfirmed. */
  userId: string;
}): Promise<string> {
  const customerId = await ensureStripeCustomer({ db, stripe, orgId, userId });
  return stripe.createPortalSession({
    customerId,
    returnUrl: consoleLinks(publicUrl, orgId).plans,
  });
}
