import path from "node:path";
import type { LoggedRequest } from "@meterline/stripe-emulator";
import ts from "typescript";
import { beforeAll, expect, it } from "vitest";
import { describeEachEngine, makeOrg, signUp } from "../support/app.js";
import { payCheckout, subscribe } from "../support/stripe.js";

/**
 * Holds every request Meterline sends Stripe during a whole flow, every answer and every event,
 * to the official SDK's types for the pinned API version, read from its declarations with the
 * TypeScript checker: an answer missing a field or carrying one of another type fails, and so
 * does a request with a parameter the SDK does not know or of the wrong kind.
 */

/** Each route of the API the flow uses: the SDK's type of its parameters and of its answer. */
const ROUTES: { method: string; path: RegExp; params: string; response: string }[] = [
  { method: "POST", path: /^\/v1\/customers$/, params: "CustomerCreateParams", response: "Customer" },
  { method: "GET", path: /^\/v1\/customers\/[^/]+$/, params: "CustomerRetrieveParams", response: "Customer" },
  { method: "POST", path: /^\/v1\/customers\/[^/]+$/, params: "CustomerUpdateParams", response: "Customer" },
  { method: "POST", path: /^\/v1\/products$/, params: "ProductCreateParams", response: "Product" },
  { method: "GET", path: /^\/v1\/products\/[^/]+$/, params: "ProductRetrieveParams", response: "Product" },
  { method: "POST", path: /^\/v1\/products\/[^/]+$/, params: "ProductUpdateParams", response: "Product" },
  { method: "POST", path: /^\/v1\/prices$/, params: "PriceCreateParams", response: "Price" },
  { method: "GET", path: /^\/v1\/prices$/, params: "PriceListParams", response: "ApiList<Stripe.Price>" },
  { method: "POST", path: /^\/v1\/prices\/[^/]+$/, params: "PriceUpdateParams", response: "Price" },
  {
    method: "POST",
    path: /^\/v1\/checkout\/sessions$/,
    params: "Checkout.SessionCreateParams",
    response: "Checkout.Session",
  },
  {
    method: "GET",
    path: /^\/v1\/checkout\/sessions\/[^/]+$/,
    params: "Checkout.SessionRetrieveParams",
    response: "Checkout.Session",
  },
  {
    method: "POST",
    path: /^\/v1\/checkout\/sessions\/[^/]+\/expire$/,
    params: "Checkout.SessionExpireParams",
    response: "Checkout.Session",
  },
  {
    method: "GET",
    path: /^\/v1\/subscriptions$/,
    params: "SubscriptionListParams",
    response: "ApiList<Stripe.Subscription>",
  },
  {
    method: "GET",
    path: /^\/v1\/subscriptions\/[^/]+$/,
    params: "SubscriptionRetrieveParams",
    response: "Subscription",
  },
  {
    method: "POST",
    path: /^\/v1\/subscriptions\/[^/]+$/,
    params: "SubscriptionUpdateParams",
    response: "Subscription",
  },
  { method: "GET", path: /^\/v1\/charges\/[^/]+$/, params: "ChargeRetrieveParams", response: "Charge" },
  { method: "POST", path: /^\/v1\/refunds$/, params: "RefundCreateParams", response: "Refund" },
  {
    method: "GET",
    path: /^\/v1\/billing_portal\/configurations$/,
    params: "BillingPortal.ConfigurationListParams",
    response: "ApiList<Stripe.BillingPortal.Configuration>",
  },
  {
    method: "POST",
    path: /^\/v1\/billing_portal\/configurations$/,
    params: "BillingPortal.ConfigurationCreateParams",
    response: "BillingPortal.Configuration",
  },
  {
    method: "POST",
    path: /^\/v1\/billing_portal\/configurations\/[^/]+$/,
    params: "BillingPortal.ConfigurationUpdateParams",
    response: "BillingPortal.Configuration",
  },
  {
    method: "POST",
    path: /^\/v1\/billing_portal\/sessions$/,
    params: "BillingPortal.SessionCreateParams",
    response: "BillingPortal.Session",
  },
  { method: "GET", path: /^\/v1\/events$/, params: "EventListParams", response: "ApiList<Stripe.Event>" },
];

/** Every event type the emulator sends, each its own type in the SDK. */
const EVENT_TYPES = [
  "billing_portal.configuration.created",
  "billing_portal.configuration.updated",
  "charge.failed",
  "charge.refunded",
  "charge.succeeded",
  "checkout.session.async_payment_failed",
  "checkout.session.async_payment_succeeded",
  "checkout.session.completed",
  "checkout.session.expired",
  "customer.created",
  "customer.updated",
  "customer.subscription.created",
  "customer.subscription.deleted",
  "customer.subscription.updated",
  "invoice.paid",
  "invoice.payment_failed",
  "invoice.payment_succeeded",
  "payment_intent.payment_failed",
  "payment_intent.succeeded",
  "price.created",
  "price.updated",
  "product.created",
  "product.updated",
  "refund.created",
];

/** `customer.subscription.updated` → `CustomerSubscriptionUpdatedEvent`, the SDK's name. */
function eventTypeName(type: string): string {
  return `${type
    .split(/[._]/)
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join("")}Event`;
}

/** The SDK's type of each object an event carries, by its `object`. */
const EVENT_OBJECTS: Record<string, string> = {
  customer: "Customer",
  product: "Product",
  price: "Price",
  "checkout.session": "Checkout.Session",
  subscription: "Subscription",
  invoice: "Invoice",
  payment_intent: "PaymentIntent",
  charge: "Charge",
  refund: "Refund",
  "billing_portal.configuration": "BillingPortal.Configuration",
};

type Mode = "params" | "response";

class SdkTypes {
  private readonly checker: ts.TypeChecker;
  private readonly types = new Map<string, ts.Type>();

  constructor(names: string[]) {
    const file = path.resolve("test/stripe/__sdkTypes.ts");
    const aliases = names.map((name, index) => `export type T${index} = Stripe.${name};`).join("\n");
    const source = `import type Stripe from "stripe";\n${aliases}\n`;
    const options: ts.CompilerOptions = {
      strict: true,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      skipLibCheck: true,
      noEmit: true,
      types: [],
    };
    const host = ts.createCompilerHost(options);
    const getSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (name, version) =>
      name === file ? ts.createSourceFile(name, source, version) : getSourceFile(name, version);
    const fileExists = host.fileExists.bind(host);
    host.fileExists = (name) => name === file || fileExists(name);
    const program = ts.createProgram([file], options, host);
    this.checker = program.getTypeChecker();
    const sourceFile = program.getSourceFile(file);
    if (!sourceFile) throw new Error("no source file");
    const exports = this.checker.getExportsOfModule(
      this.checker.getSymbolAtLocation(sourceFile) as ts.Symbol,
    );
    for (const [index, name] of names.entries()) {
      const symbol = exports.find((entry) => entry.name === `T${index}`);
      if (!symbol) throw new Error(`no alias for ${name}`);
      const type = this.checker.getDeclaredTypeOfSymbol(symbol);
      if (type.flags & ts.TypeFlags.Any) throw new Error(`Stripe.${name} is not a type of the SDK`);
      this.types.set(name, type);
    }
  }

  /** What is wrong with `value` as the SDK's `name`, one line per fault; empty when it fits. */
  check(name: string, value: unknown, mode: Mode): string[] {
    const type = this.types.get(name);
    if (!type) throw new Error(`unknown type ${name}`);
    return this.faults(type, value, mode, "", 0);
  }

  private faults(type: ts.Type, value: unknown, mode: Mode, at: string, depth: number): string[] {
    const here = at || "(top)";
    const { flags } = type;
    if (depth > 40 || flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return [];
    if (type.isUnion()) {
      let best: string[] | null = null;
      let bestEmpty = true;
      for (const member of type.types) {
        const faults = this.faults(member, value, mode, at, depth + 1);
        if (faults.length === 0) return [];
        // A value given is told against the kinds it could be, not against null or undefined.
        const empty = (member.flags & (ts.TypeFlags.Null | ts.TypeFlags.Undefined)) !== 0;
        if (!best || (bestEmpty && !empty) || (!empty && faults.length < best.length)) {
          best = faults;
          bestEmpty = empty;
        }
      }
      return best ?? [`${here}: matches nothing`];
    }
    if (type.isIntersection()) {
      // The SDK turns decimal strings into its Decimal class; on the wire they are strings.
      if (type.types.some((member) => this.checker.typeToString(member) === "DecimalImpl")) {
        return typeof value === "string" ? [] : [`${here}: ${show(value)} is not a decimal string`];
      }
      // `OtherString` is `string & Record<never, never>`: a string.
      const primitive = type.types.find((member) => !(member.flags & ts.TypeFlags.Object));
      if (primitive) return this.faults(primitive, value, mode, at, depth + 1);
      return type.types.flatMap((member) => this.faults(member, value, mode, at, depth + 1));
    }
    const wire = mode === "params" && typeof value === "string";

    if (flags & ts.TypeFlags.Null) return value === null ? [] : [`${here}: ${show(value)} is not null`];
    if (flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Void)) {
      return value === undefined ? [] : [`${here}: ${show(value)} is not undefined`];
    }
    if (flags & ts.TypeFlags.StringLiteral) {
      const literal = (type as ts.StringLiteralType).value;
      return value === literal ? [] : [`${here}: ${show(value)} is not "${literal}"`];
    }
    if (flags & ts.TypeFlags.String)
      return typeof value === "string" ? [] : [`${here}: ${show(value)} is not a string`];
    if (flags & ts.TypeFlags.NumberLiteral) {
      const literal = (type as ts.NumberLiteralType).value;
      return value === literal || (wire && Number(value) === literal)
        ? []
        : [`${here}: ${show(value)} is not ${literal}`];
    }
    if (flags & ts.TypeFlags.Number) {
      const fits = typeof value === "number" || (wire && /^-?\d+(\.\d+)?$/.test(value as string));
      return fits ? [] : [`${here}: ${show(value)} is not a number`];
    }
    if (flags & (ts.TypeFlags.Boolean | ts.TypeFlags.BooleanLiteral)) {
      const literal = flags & ts.TypeFlags.BooleanLiteral ? this.checker.typeToString(type) : null;
      const actual = wire ? (value === "true" ? true : value === "false" ? false : value) : value;
      if (typeof actual !== "boolean") return [`${here}: ${show(value)} is not a boolean`];
      return literal === null || String(actual) === literal
        ? []
        : [`${here}: ${show(value)} is not ${literal}`];
    }
    if (!(flags & ts.TypeFlags.Object)) return [];
    if (this.checker.isArrayType(type)) {
      if (!Array.isArray(value)) return [`${here}: ${show(value)} is not an array`];
      const [element] = this.checker.getTypeArguments(type as ts.TypeReference);
      if (!element) return [];
      return value.flatMap((item, index) => this.faults(element, item, mode, `${at}[${index}]`, depth + 1));
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      return [`${here}: ${show(value)} is not an object`];
    }
    if (this.checker.getSignaturesOfType(type, ts.SignatureKind.Call).length > 0) return [];
    const record = value as Record<string, unknown>;
    const properties = this.checker.getPropertiesOfType(type);
    const [index] = this.checker.getIndexInfosOfType(type);
    const faults: string[] = [];
    for (const property of properties) {
      const key = property.name;
      const child = at ? `${at}.${key}` : key;
      const optional = (property.flags & ts.SymbolFlags.Optional) !== 0;
      if (!(key in record)) {
        if (!optional && mode === "response") faults.push(`${child}: missing`);
        continue;
      }
      const propertyType = this.checker.getTypeOfSymbol(property);
      faults.push(...this.faults(propertyType, record[key], mode, child, depth + 1));
    }
    const known = new Set(properties.map((property) => property.name));
    for (const [key, child] of Object.entries(record)) {
      if (known.has(key)) continue;
      if (index) faults.push(...this.faults(index.type, child, mode, at ? `${at}.${key}` : key, depth + 1));
      else if (mode === "params") faults.push(`${at ? `${at}.${key}` : key}: not a parameter of the SDK`);
    }
    return faults;
  }
}

function show(value: unknown): string {
  return JSON.stringify(value)?.slice(0, 60) ?? String(value);
}

let sdk: SdkTypes;

beforeAll(() => {
  const names = [
    ...new Set([
      ...ROUTES.flatMap((route) => [route.params, route.response]),
      ...Object.values(EVENT_OBJECTS),
      ...EVENT_TYPES.map(eventTypeName),
    ]),
  ];
  sdk = new SdkTypes(names);
}, 60_000);

describeEachEngine("Stripe's contract", (ctx) => {
  it("the checker itself catches a missing field, a wrong type and an unknown parameter", () => {
    expect(sdk.check("Refund", { id: "re_1", object: "refund" }, "response")).toContain("amount: missing");
    expect(sdk.check("RefundCreateParams", { amount: "ten" }, "params")).toEqual([
      'amount: "ten" is not a number',
    ]);
    expect(sdk.check("RefundCreateParams", { amonut: "10" }, "params")).toEqual([
      "amonut: not a parameter of the SDK",
    ]);
  });

  it("every request of a whole flow, every answer and every event fit the SDK's types", async () => {
    await fetch(`${ctx.stripeEmulator.url}/_emulator/requests`, { method: "DELETE" });
    const owner = await signUp(ctx.app);
    const org = await makeOrg(owner);
    await owner.request("PATCH", `/v1/orgs/${org.id}`, { country: "FR" });
    await subscribe(ctx, owner, org.id, { plan: "maker", interval: "month" });
    const changed = await owner.request("POST", `/v1/orgs/${org.id}/subscription/change`, {
      plan: "team",
      interval: "month",
    });
    expect(changed.statusCode, changed.body).toBe(200);
    const credits = await owner.request("POST", `/v1/orgs/${org.id}/checkout/credits`, { amount: 50 });
    expect(credits.statusCode, credits.body).toBe(200);
    const { session_id } = credits.json();
    expect((await payCheckout(ctx, session_id)).status).toBe(200);
    const completed = await owner.request("POST", `/v1/orgs/${org.id}/credits/complete`, { session_id });
    expect(completed.statusCode, completed.body).toBe(200);
    const session = await ctx.stripe.sdk.checkout.sessions.retrieve(session_id);
    await ctx.stripe.sdk.refunds.create({ payment_intent: String(session.payment_intent), amount: 1_200 });
    await ctx.stripeEmulator.idle();
    const portal = await owner.request("POST", `/v1/orgs/${org.id}/billing-portal`);
    expect(portal.statusCode, portal.body).toBe(200);
    const canceled = await owner.request("POST", `/v1/orgs/${org.id}/subscription/cancel`);
    expect(canceled.statusCode, canceled.body).toBe(200);
    await ctx.stripeEmulator.idle();

    const log = (await (await fetch(`${ctx.stripeEmulator.url}/_emulator/requests`)).json()) as {
      data: LoggedRequest[];
    };
    const faults: string[] = [];
    const seen = new Set<string>();
    for (const request of log.data) {
      const route = ROUTES.find((entry) => entry.method === request.method && entry.path.test(request.path));
      const name = `${request.method} ${request.path}`;
      if (!route) {
        faults.push(`${name}: no SDK type listed for this route`);
        continue;
      }
      seen.add(`${route.method} ${route.path.source}`);
      for (const fault of sdk.check(route.params, request.params, "params"))
        faults.push(`${name} params ${fault}`);
      if (request.status >= 400) continue;
      for (const fault of sdk.check(route.response, request.response, "response")) {
        faults.push(`${name} answer ${fault}`);
      }
    }
    const events = await ctx.stripe.sdk.events.list({ limit: 100 });
    for (const event of events.data) {
      if (!EVENT_TYPES.includes(event.type)) faults.push(`${event.type}: no SDK type listed`);
      else
        for (const fault of sdk.check(eventTypeName(event.type), event, "response"))
          faults.push(`${event.type} ${fault}`);
      const object = event.data.object as { object?: string };
      const type = EVENT_OBJECTS[object.object ?? ""];
      if (!type) faults.push(`${event.type}: no SDK type listed for ${object.object}`);
      else
        for (const fault of sdk.check(type, object, "response")) faults.push(`${event.type} object ${fault}`);
    }
    expect(faults).toEqual([]);
    // The flow went through Checkout, a plan change, a refund and the portal.
    for (const route of [
      "POST ^\\/v1\\/checkout\\/sessions$",
      "POST ^\\/v1\\/subscriptions\\/[^/]+$",
      "POST ^\\/v1\\/refunds$",
    ]) {
      expect(seen).toContain(route);
    }
    expect(events.data.map((event) => event.type)).toEqual(
      expect.arrayContaining([
        "checkout.session.completed",
        "customer.subscription.updated",
        "charge.refunded",
      ]),
    );
  }, 120_000);
});
