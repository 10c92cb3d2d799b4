import { randomBytes } from "node:crypto";
import type { Context } from "./context.js";
import { renderCustomer } from "./objects.js";
import type { Metadata } from "./params.js";
import { type Address, type CustomerRecord, newStripeId } from "./store.js";

/** A new customer, announced with `customer.created`. */
export function createCustomer({
  context,
  email,
  name = null,
  description = null,
  phone = null,
  address = null,
  metadata = {},
  balance = 0,
}: {
  context: Context;
  email: string | null;
  name?: string | null;
  description?: string | null;
  phone?: string | null;
  address?: Address | null;
  metadata?: Metadata;
  balance?: number;
}): CustomerRecord {
  const customer = context.store.customers.insert({
    id: newStripeId("cus_", 14),
    created: context.now(),
    email,
    name,
    description,
    phone,
    address,
    metadata,
    balance,
    currency: null,
    invoicePrefix: randomBytes(4).toString("hex").toUpperCase(),
    nextInvoiceSequence: 1,
    card: null,
  });
  context.emit({ type: "customer.created", object: renderCustomer(context, customer) });
  return customer;
}
