import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import type { Clock } from "./clock.js";
import { API_VERSION, type Context, type ContextFor, NO_REQUEST } from "./context.js";
import { runDueWork } from "./dueWork.js";
import { FormEncodingError, parseForm } from "./formEncoding.js";
import { invalidRequest, Params, StripeApiError } from "./params.js";
import { refuseUnknown, type Shape } from "./shapes.js";
import { newStripeId, type Store } from "./store.js";

export type Reply =
  | { kind: "json"; status: number; body: unknown }
  | { kind: "html"; status: number; body: string }
  | { kind: "redirect"; location: string };

export interface RouteRequest {
  context: Context;
  /** Path parameters, e.g. `id` of `/v1/customers/:id`. */
  path: Record<string, string>;
  /** The body of a POST (form or JSON), the query string otherwise: where Stripe reads parameters. */
  input: Params;
}

export interface Route {
  method: "GET" | "POST" | "DELETE";
  path: string;
  /**
   * The parameters it accepts; any other is refused before it runs. Every route of Stripe's API
   * also takes `expand`. Null only for the hosted pages, which read a form of their own.
   */
  params: Shape | null;
  handle(request: RouteRequest): Reply | Promise<Reply>;
}

export function json(body: unknown, status = 200): Reply {
  return { kind: "json", status, body };
}

interface CompiledRoute {
  route: Route;
  pattern: RegExp;
  names: string[];
}

const MAX_BODY_BYTES = 1024 * 1024;

function compile(route: Route): CompiledRoute {
  const names: string[] = [];
  const source = route.path
    .split("/")
    .map((segment) => {
      if (!segment.startsWith(":")) return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      names.push(segment.slice(1));
      return "([^/]+)";
    })
    .join("/");
  return { route, pattern: new RegExp(`^${source}$`), names };
}

function match(
  routes: CompiledRoute[],
  method: string,
  pathname: string,
): { route: Route; path: Record<string, string> } | null {
  for (const { route, pattern, names } of routes) {
    if (route.method !== method) continue;
    const found = pattern.exec(pathname);
    if (!found) continue;
    const path: Record<string, string> = {};
    for (const [index, name] of names.entries()) path[name] = decodeURIComponent(found[index + 1] ?? "");
    return { route, path };
  }
  return null;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw invalidRequest("Request body too large.");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseBody({ body, contentType }: { body: string; contentType: string | undefined }): unknown {
  if (body === "") return {};
  if (contentType?.includes("application/json")) {
    try {
      return JSON.parse(body) as unknown;
    } catch {
      throw invalidRequest("Invalid JSON body.");
    }
  }
  return parseForm(body);
}

/**
 * Stripe takes the secret key as a bearer token or as the basic-auth user name. A missing or
 * wrong key is a 401, which the SDK turns into StripeAuthenticationError.
 */
function authenticate({
  header,
  apiKey,
}: {
  header: string | undefined;
  apiKey: string;
}): StripeApiError | null {
  const unauthorized = (message: string) =>
    new StripeApiError({ status: 401, type: "invalid_request_error", message });
  if (!header) {
    return unauthorized(
      "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
    );
  }
  const [scheme, credentials = ""] = header.split(" ", 2);
  const given =
    scheme?.toLowerCase() === "basic"
      ? (Buffer.from(credentials, "base64").toString("utf8").split(":")[0] ?? "")
      : credentials;
  const expected = Buffer.from(apiKey);
  const actual = Buffer.from(given);
  if (actual.length === expected.length && timingSafeEqual(actual, expected)) return null;
  return unauthorized(
    `Invalid API Key provided: ${given.slice(0, 8)}${"*".repeat(Math.max(0, given.length - 12))}${given.slice(-4)}`,
  );
}

interface ServerOptions {
  routes: Route[];
  contextFor: ContextFor;
  store: Store;
  apiKey: string;
  baseClock: Clock;
  persist(): void;
  logger: Logger | undefined;
  /** Milliseconds every answer of Stripe's API waits (`/_emulator/latency`); 0 for none. */
  latencyMs(): number;
  /** Told of every request of Stripe's API that ran, with its parameters and answer. */
  record(entry: LoggedRequest): void;
}

/** One request of Stripe's API, as `GET /_emulator/requests` lists it. */
export interface LoggedRequest {
  id: string;
  method: string;
  path: string;
  params: unknown;
  status: number;
  response: unknown;
}

export function createEmulatorServer(options: ServerOptions): Server {
  const routes = options.routes.map(compile);
  return createServer((request, response) => {
    handle({ options, routes, request, response }).catch((error: unknown) => {
      options.logger?.error({ err: error }, "stripe emulator: request failed");
      if (!response.headersSent) response.writeHead(500).end();
    });
  });
}

async function handle({
  options,
  routes,
  request,
  response,
}: {
  options: ServerOptions;
  routes: CompiledRoute[];
  request: IncomingMessage;
  response: ServerResponse;
}): Promise<void> {
  const url = new URL(request.url ?? "/", "http://emulator");
  const method = request.method ?? "GET";
  const isApi = url.pathname.startsWith("/v1/");
  const requestId = newStripeId("req_", 14);
  const idempotencyKey = method === "POST" && isApi ? headerOf(request, "idempotency-key") : null;
  const headers: Record<string, string> = { "request-id": requestId, "stripe-version": API_VERSION };
  if (idempotencyKey) headers["idempotency-key"] = idempotencyKey;
  // Read on arrival: a request already in flight keeps the latency it came in with.
  const latencyMs = isApi ? options.latencyMs() : 0;
  const send = async (reply: Reply, extra: Record<string, string> = {}) => {
    if (latencyMs > 0) await sleep(latencyMs);
    writeReply({ response, reply, headers: { ...headers, ...extra } });
  };
  const fail = (error: StripeApiError) => send(json(error.toBody(requestId), error.status));

  const found = match(routes, method, url.pathname);
  if (!found) {
    if (isApi) {
      await fail(
        new StripeApiError({
          status: 404,
          type: "invalid_request_error",
          message: `Unrecognized request URL (${method}: ${url.pathname}).`,
        }),
      );
    } else {
      await send({
        kind: "html",
        status: 404,
        body: "<!doctype html><title>Not found</title><p>Not found.</p>",
      });
    }
    return;
  }
  if (isApi) {
    const refused = authenticate({ header: request.headers.authorization, apiKey: options.apiKey });
    if (refused) return fail(refused);
  }

  let body: string;
  try {
    body = await readBody(request);
  } catch (error) {
    if (error instanceof StripeApiError) return fail(error);
    throw error;
  }
  const dueWorkRan = runDueWork({ context: options.contextFor(NO_REQUEST) }) > 0;
  const fingerprint = createHash("sha256").update(`${method} ${url.pathname}\n${body}`).digest("hex");
  const stored = idempotencyKey ? options.store.idempotency.get(idempotencyKey) : undefined;
  if (stored) {
    if (stored.fingerprint !== fingerprint) {
      return fail(
        new StripeApiError({
          status: 400,
          type: "idempotency_error",
          message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idempotencyKey}' if you meant to execute a different request.`,
        }),
      );
    }
    return send(json(stored.body, stored.status), { "idempotent-replayed": "true" });
  }

  const reply = await run({
    options,
    route: found.route,
    path: found.path,
    method,
    url,
    body,
    contentType: request.headers["content-type"],
    request: isApi ? { id: requestId, idempotency_key: idempotencyKey } : NO_REQUEST,
    requestId,
  });
  if (idempotencyKey && reply.kind === "json" && reply.status < 500) {
    const nowMs = options.baseClock.now().getTime();
    options.store.forgetIdempotencyKeys({ nowMs });
    options.store.idempotency.set(idempotencyKey, {
      key: idempotencyKey,
      fingerprint,
      status: reply.status,
      body: reply.body,
      storedAt: nowMs,
    });
  }
  if (method !== "GET" || dueWorkRan) options.persist();
  if (isApi && reply.kind === "json") {
    options.record({
      id: requestId,
      method,
      path: url.pathname,
      params: loggedParams({
        method,
        body,
        query: url.search.slice(1),
        contentType: request.headers["content-type"],
      }),
      status: reply.status,
      response: reply.body,
    });
  }
  await send(reply);
}

async function run({
  options,
  route,
  path,
  method,
  url,
  body,
  contentType,
  request,
  requestId,
}: {
  options: ServerOptions;
  route: Route;
  path: Record<string, string>;
  method: string;
  url: URL;
  body: string;
  contentType: string | undefined;
  request: Context["request"];
  requestId: string;
}): Promise<Reply> {
  try {
    const raw = method === "POST" ? parseBody({ body, contentType }) : parseForm(url.search.slice(1));
    if (route.params) {
      const shape = url.pathname.startsWith("/v1/")
        ? { ...route.params, expand: [true] as const }
        : route.params;
      const unknown = refuseUnknown({ shape, input: raw });
      if (unknown) throw unknown;
    }
    return await route.handle({ context: options.contextFor(request), path, input: new Params(raw) });
  } catch (error) {
    if (error instanceof StripeApiError) return json(error.toBody(requestId), error.status);
    if (error instanceof FormEncodingError) return json(invalidRequest(error.message).toBody(requestId), 400);
    options.logger?.error({ err: error, path: url.pathname }, "stripe emulator: handler failed");
    const internal = new StripeApiError({
      status: 500,
      type: "api_error",
      message: "The emulator failed on this request.",
    });
    return json(internal.toBody(requestId), 500);
  }
}

function loggedParams({
  method,
  body,
  query,
  contentType,
}: {
  method: string;
  body: string;
  query: string;
  contentType: string | undefined;
}): unknown {
  try {
    return method === "POST" ? parseBody({ body, contentType }) : parseForm(query);
  } catch {
    return null;
  }
}

function headerOf(request: IncomingMessage, name: string): string | null {
  const value = request.headers[name];
  return typeof value === "string" && value !== "" ? value : null;
}

function writeReply({
  response,
  reply,
  headers,
}: {
  response: ServerResponse;
  reply: Reply;
  headers: Record<string, string>;
}): void {
  if (reply.kind === "redirect") {
    response.writeHead(303, { ...headers, location: reply.location }).end();
    return;
  }
  if (reply.kind === "html") {
    response
      .writeHead(reply.status, {
        ...headers,
        "content-type": "text/html; charset=utf-8",
        "cache-control": "no-store",
      })
      .end(reply.body);
    return;
  }
  // A 500 is final: the SDK would otherwise retry a request the emulator cannot serve.
  const retry = reply.status >= 500 ? { "stripe-should-retry": "false" } : {};
  response
    .writeHead(reply.status, { ...headers, ...retry, "content-type": "application/json" })
    .end(JSON.stringify(reply.body, null, 2));
}
