import type { Context } from "./context.js";
import { createCustomer } from "./customers.js";
import { listReply, objectReply } from "./listing.js";
import {
  changedAttributes,
  renderCustomer,
  renderPrice,
  renderProduct,
  type StripeObject,
} from "./objects.js";
import { applyMetadata, invalidRequest, type Params } from "./params.js";
import type { Route } from "./server.js";
import { ADDRESS, LIST } from "./shapes.js";
import { type Address, newStripeId, type PriceRecord } from "./store.js";

/** Customers, products and prices: `/v1/customers`, `/v1/products`, `/v1/prices`. */
export const catalogRoutes: Route[] = [
  {
    method: "POST",
    path: "/v1/customers",
    params: {
      email: true,
      name: true,
      description: true,
      phone: true,
      address: ADDRESS,
      metadata: "map",
      balance: true,
    },
    handle: ({ context, input }) => {
      const customer = createCustomer({
        context,
        email: input.nullableString("email") ?? null,
        name: input.nullableString("name") ?? null,
        description: input.nullableString("description") ?? null,
        phone: input.nullableString("phone") ?? null,
        address: readAddress(input) ?? null,
        metadata: applyMetadata({ current: {}, update: input.metadataUpdate() }),
        balance: input.integer("balance") ?? 0,
      });
      return objectReply({ context, input, object: renderCustomer(context, customer) });
    },
  },
  {
    method: "GET",
    path: "/v1/customers/:id",
    params: {},
    handle: ({ context, input, path }) =>
      objectReply({
        context,
        input,
        object: renderCustomer(context, context.store.customers.require(path.id ?? "")),
      }),
  },
  {
    method: "POST",
    path: "/v1/customers/:id",
    params: {
      email: true,
      name: true,
      description: true,
      phone: true,
      address: ADDRESS,
      metadata: "map",
      balance: true,
    },
    handle: ({ context, input, path }) => {
      const customer = context.store.customers.require(path.id ?? "");
      const before = renderCustomer(context, customer);
      const email = input.nullableString("email");
      const name = input.nullableString("name");
      const description = input.nullableString("description");
      const phone = input.nullableString("phone");
      const address = readAddress(input);
      const balance = input.integer("balance");
      if (email !== undefined) customer.email = email;
      if (name !== undefined) customer.name = name;
      if (description !== undefined) customer.description = description;
      if (phone !== undefined) customer.phone = phone;
      if (address !== undefined) customer.address = address;
      if (balance !== undefined) customer.balance = balance;
      customer.metadata = applyMetadata({ current: customer.metadata, update: input.metadataUpdate() });
      const after = renderCustomer(context, customer);
      emitUpdated({ context, type: "customer.updated", before, after });
      return objectReply({ context, input, object: after });
    },
  },
  {
    method: "GET",
    path: "/v1/customers",
    params: { ...LIST, email: true },
    handle: ({ context, input }) => {
      const email = input.string("email");
      return listReply({
        context,
        input,
        records: context.store.customers
          .newestFirst()
          .filter((customer) => !email || customer.email === email),
        render: (customer) => renderCustomer(context, customer),
        url: "/v1/customers",
      });
    },
  },
  {
    method: "POST",
    path: "/v1/products",
    params: { id: true, name: true, description: true, active: true, metadata: "map" },
    handle: ({ context, input }) => {
      const id = input.string("id") ?? newStripeId("prod_", 14);
      if (context.store.products.get(id)) {
        throw invalidRequest(`Product already exists: ${id}`, "id", "resource_already_exists");
      }
      const now = context.now();
      const product = context.store.products.insert({
        id,
        created: now,
        updated: now,
        name: input.requiredString("name"),
        description: input.nullableString("description") ?? null,
        active: input.boolean("active") ?? true,
        metadata: applyMetadata({ current: {}, update: input.metadataUpdate() }),
        defaultPrice: null,
      });
      const object = renderProduct(product);
      context.emit({ type: "product.created", object });
      return objectReply({ context, input, object });
    },
  },
  {
    method: "GET",
    path: "/v1/products/:id",
    params: {},
    handle: ({ context, input, path }) =>
      objectReply({ context, input, object: renderProduct(context.store.products.require(path.id ?? "")) }),
  },
  {
    method: "POST",
    path: "/v1/products/:id",
    params: { name: true, description: true, active: true, default_price: true, metadata: "map" },
    handle: ({ context, input, path }) => {
      const product = context.store.products.require(path.id ?? "");
      const before = renderProduct(product);
      const name = input.string("name");
      const description = input.nullableString("description");
      const active = input.boolean("active");
      const defaultPrice = input.nullableString("default_price");
      if (name !== undefined) product.name = name;
      if (description !== undefined) product.description = description;
      if (active !== undefined) product.active = active;
      if (defaultPrice) context.store.prices.require(defaultPrice, "default_price");
      if (defaultPrice !== undefined) product.defaultPrice = defaultPrice;
      product.metadata = applyMetadata({ current: product.metadata, update: input.metadataUpdate() });
      product.updated = context.now();
      const after = renderProduct(product);
      emitUpdated({ context, type: "product.updated", before, after });
      return objectReply({ context, input, object: after });
    },
  },
  {
    method: "GET",
    path: "/v1/products",
    params: { ...LIST, active: true, ids: [true] },
    handle: ({ context, input }) => {
      const active = input.boolean("active");
      const ids = input.strings("ids");
      return listReply({
        context,
        input,
        records: context.store.products
          .newestFirst()
          .filter(
            (product) =>
              (active === undefined || product.active === active) && (!ids || ids.includes(product.id)),
          ),
        render: renderProduct,
        url: "/v1/products",
      });
    },
  },
  {
    method: "POST",
    path: "/v1/prices",
    params: {
      product: true,
      currency: true,
      unit_amount: true,
      recurring: { interval: true, interval_count: true },
      nickname: true,
      tax_behavior: true,
      metadata: "map",
      active: true,
      lookup_key: true,
      transfer_lookup_key: true,
    },
    handle: ({ context, input }) => {
      const product = context.store.products.require(input.requiredString("product"), "product");
      const unitAmount = input.requiredInteger("unit_amount");
      if (unitAmount < 0) throw invalidRequest("unit_amount must be 0 or more.", "unit_amount");
      const recurring = input.object("recurring");
      const interval = recurring ? (recurring.enumOf("interval", ["month", "year"] as const) ?? null) : null;
      if (recurring && !interval)
        throw invalidRequest("Missing required param: recurring[interval].", "recurring[interval]");
      if ((recurring?.integer("interval_count") ?? 1) !== 1) {
        throw invalidRequest("The emulator bills every single month or year.", "recurring[interval_count]");
      }
      const price: PriceRecord = {
        id: newStripeId("price_"),
        created: context.now(),
        product: product.id,
        currency: input.requiredString("currency").toLowerCase(),
        unitAmount,
        interval,
        lookupKey: null,
        nickname: input.nullableString("nickname") ?? null,
        taxBehavior:
          input.enumOf("tax_behavior", ["exclusive", "inclusive", "unspecified"] as const) ?? "unspecified",
        metadata: applyMetadata({ current: {}, update: input.metadataUpdate() }),
        active: input.boolean("active") ?? true,
      };
      claimLookupKey({ context, input, price });
      context.store.prices.insert(price);
      const object = renderPrice(price);
      context.emit({ type: "price.created", object });
      return objectReply({ context, input, object });
    },
  },
  {
    method: "GET",
    path: "/v1/prices/:id",
    params: {},
    handle: ({ context, input, path }) =>
      objectReply({ context, input, object: renderPrice(context.store.prices.require(path.id ?? "")) }),
  },
  {
    method: "POST",
    path: "/v1/prices/:id",
    params: {
      active: true,
      nickname: true,
      tax_behavior: true,
      lookup_key: true,
      transfer_lookup_key: true,
      metadata: "map",
    },
    handle: ({ context, input, path }) => {
      const price = context.store.prices.require(path.id ?? "");
      const before = renderPrice(price);
      const active = input.boolean("active");
      const nickname = input.nullableString("nickname");
      const taxBehavior = input.enumOf("tax_behavior", ["exclusive", "inclusive", "unspecified"] as const);
      claimLookupKey({ context, input, price });
      if (active !== undefined) price.active = active;
      if (nickname !== undefined) price.nickname = nickname;
      if (taxBehavior !== undefined) price.taxBehavior = taxBehavior;
      price.metadata = applyMetadata({ current: price.metadata, update: input.metadataUpdate() });
      const after = renderPrice(price);
      emitUpdated({ context, type: "price.updated", before, after });
      return objectReply({ context, input, object: after });
    },
  },
  {
    method: "GET",
    path: "/v1/prices",
    params: { ...LIST, lookup_keys: [true], active: true, product: true, type: true, currency: true },
    handle: ({ context, input }) => {
      const lookupKeys = input.strings("lookup_keys");
      const active = input.boolean("active");
      const product = input.string("product");
      const type = input.enumOf("type", ["one_time", "recurring"] as const);
      const currency = input.string("currency")?.toLowerCase();
      return listReply({
        context,
        input,
        records: context.store.prices
          .newestFirst()
          .filter(
            (price) =>
              (!lookupKeys || (price.lookupKey !== null && lookupKeys.includes(price.lookupKey))) &&
              (active === undefined || price.active === active) &&
              (!product || price.product === product) &&
              (!type || (type === "recurring") === (price.interval !== null)) &&
              (!currency || price.currency === currency),
          ),
        render: renderPrice,
        url: "/v1/prices",
      });
    },
  },
];

function readAddress(input: Params): Address | null | undefined {
  if (!input.hasObject("address")) return input.has("address") ? null : undefined;
  const address = input.object("address");
  if (!address) return undefined;
  const field = (key: string) => address.nullableString(key) ?? null;
  return {
    city: field("city"),
    country: field("country")?.toUpperCase() ?? null,
    line1: field("line1"),
    line2: field("line2"),
    postal_code: field("postal_code"),
    state: field("state"),
  };
}

/**
 * A lookup key names one price at a time: taking one another price holds needs
 * `transfer_lookup_key=true`, which moves it (and tells of the other price's change).
 */
function claimLookupKey({
  context,
  input,
  price,
}: {
  context: Context;
  input: Params;
  price: PriceRecord;
}): void {
  const lookupKey = input.nullableString("lookup_key");
  if (lookupKey === undefined) return;
  if (lookupKey !== null) {
    const holder = context.store.prices
      .all()
      .find((other) => other.lookupKey === lookupKey && other.id !== price.id);
    if (holder) {
      if (!input.boolean("transfer_lookup_key")) {
        throw invalidRequest(
          `A price (\`${holder.id}\`) already uses that lookup key. Pass transfer_lookup_key=true to move it to this price.`,
          "lookup_key",
        );
      }
      const before = renderPrice(holder);
      holder.lookupKey = null;
      emitUpdated({ context, type: "price.updated", before, after: renderPrice(holder) });
    }
  }
  price.lookupKey = lookupKey;
}

function emitUpdated({
  context,
  type,
  before,
  after,
}: {
  context: Context;
  type: string;
  before: StripeObject;
  after: StripeObject;
}): void {
  const previousAttributes = changedAttributes(before, after);
  if (Object.keys(previousAttributes).length > 0) context.emit({ type, object: after, previousAttributes });
}
