import { timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { KEY_REVOKED_CHANNEL } from "../db/notifications.js";
import type { KeyScope, Permission, Role } from "../domain/access.js";
import { AppError } from "../domain/errors.js";
import { sha256Hex } from "../domain/sha256.js";
import { ApiKeyCache } from "../services/accounts/apiKeys.js";
import { authorizeOrg } from "../services/accounts/authorizeOrg.js";
import type { DeviceCookie } from "../services/accounts/deviceCookies.js";
import type { StartedSession } from "../services/accounts/sessions.js";
import { findSession } from "../services/accounts/sessions.js";
import type { AppDeps } from "./deps.js";

/**
 * How a route is reached: `public` needs nothing, `user` a console session, `key` a service
 * API key. A route that does not say is treated as `user`, so forgetting is never an opening.
 */
export type AuthMode = "public" | "user" | "key";

export type Principal =
  | { kind: "user"; userId: string; email: string; name: string; sessionId: string; csrfToken: string }
  | { kind: "key"; keyId: string; orgId: string | null; scopes: KeyScope[] };

declare module "fastify" {
  interface FastifyContextConfig {
    auth?: AuthMode;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export const SESSION_COOKIE = "meterline_session";
export const CSRF_COOKIE = "meterline_csrf";
export const CSRF_HEADER = "x-csrf-token";
/** Proof of an earlier sign-in from this browser, sent to the sign-in route only. */
export const DEVICE_COOKIE = "meterline_device";
const SIGN_IN_PATH = "/v1/auth/login";

const safeMethods = new Set(["GET", "HEAD", "OPTIONS"]);

const securityOf: Record<AuthMode, Record<string, string[]>[]> = {
  public: [],
  user: [{ session: [] }],
  key: [{ apiKey: [] }],
};

export function authModeOf(request: FastifyRequest): AuthMode {
  return request.routeOptions.config.auth ?? "user";
}

/** Installs authentication on every route registered in `app`'s scope (the `/v1` API). */
export async function registerAuth(app: FastifyInstance, deps: AppDeps): Promise<void> {
  app.decorateRequest("principal", null);
  const keys = new ApiKeyCache({ db: deps.db.kysely });
  const unlisten = await deps.db.listen(
    KEY_REVOKED_CHANNEL,
    () => keys.forgetAll(),
    () => keys.forgetAll(),
  );
  app.addHook("onClose", async () => unlisten());

  // The OpenAPI document's `security` comes from the same setting that the hook below enforces.
  app.addHook("onRoute", (route) => {
    const mode = route.config?.auth ?? "user";
    route.schema = { ...route.schema, security: securityOf[mode] };
  });

  app.addHook("onRequest", async (request) => {
    const mode = authModeOf(request);
    if (mode === "public") return;
    if (mode === "key") {
      request.principal = await keyPrincipal(request, keys, deps.clock.now());
      return;
    }
    const principal = await sessionPrincipal(request, deps);
    if (!safeMethods.has(request.method) && !sameSecret(request.headers[CSRF_HEADER], principal.csrfToken)) {
      throw new AppError(
        "csrf_failed",
        `Cookie-authenticated writes need the ${CSRF_HEADER} header of your session`,
      );
    }
    request.principal = principal;
  });
}

/** Compares digests, which have one length, so the time taken says nothing about the token. */
function sameSecret(given: string | string[] | undefined, expected: string): boolean {
  if (typeof given !== "string") return false;
  return timingSafeEqual(Buffer.from(sha256Hex(given), "hex"), Buffer.from(sha256Hex(expected), "hex"));
}

async function sessionPrincipal(
  request: FastifyRequest,
  deps: AppDeps,
): Promise<Principal & { kind: "user" }> {
  const token = request.cookies[SESSION_COOKIE];
  const session = token ? await findSession({ db: deps.db.kysely, token, now: deps.clock.now() }) : undefined;
  if (!session) throw new AppError("unauthenticated", "Sign in first: this route needs a session");
  return { kind: "user", ...session };
}

async function keyPrincipal(
  request: FastifyRequest,
  keys: ApiKeyCache,
  now: Date,
): Promise<Principal & { kind: "key" }> {
  const key = bearerToken(request.headers.authorization);
  if (!key)
    throw new AppError("unauthenticated", "This route needs a service API key: Authorization: Bearer ml_…");
  const row = await keys.find(key, now.getTime());
  if (!row) throw new AppError("unauthenticated", "This API key is unknown or revoked");
  return { kind: "key", keyId: row.id, orgId: row.org_id, scopes: row.scopes };
}

/** The credentials of `Authorization: Bearer …`; the scheme's name is case-insensitive (RFC 9110 §11.1). */
function bearerToken(header: string | undefined): string | undefined {
  return header?.match(/^bearer +(\S+) *$/i)?.[1];
}

/** The signed-in user of a `user` route. */
export function currentUser(request: FastifyRequest): Principal & { kind: "user" } {
  const principal = request.principal;
  if (principal?.kind !== "user") throw new Error(`route ${request.routeOptions.url} is not a user route`);
  return principal;
}

/** The signed-in user and their role in `orgId`, which must allow `permission`. */
export async function orgAccess(
  request: FastifyRequest,
  deps: AppDeps,
  { orgId, permission }: { orgId: string; permission: Permission },
): Promise<{ user: Principal & { kind: "user" }; role: Role }> {
  const user = currentUser(request);
  const role = await authorizeOrg({ db: deps.db.kysely, userId: user.userId, orgId, permission });
  return { user, role };
}

/** The calling key, which must carry `scope` and, unless it is a platform key, belong to `orgId`. */
export function keyAccess(request: FastifyRequest, { orgId, scope }: { orgId?: string; scope: KeyScope }) {
  const principal = request.principal;
  if (principal?.kind !== "key") throw new Error(`route ${request.routeOptions.url} is not a key route`);
  if (!principal.scopes.includes(scope)) {
    throw new AppError("forbidden", `This API key lacks the ${scope} scope`);
  }
  if (orgId !== undefined && principal.orgId !== null && principal.orgId !== orgId) {
    throw new AppError("not_found", `Organization ${orgId} not found`);
  }
  return principal;
}

export function setSessionCookies(reply: FastifyReply, deps: AppDeps, session: StartedSession): void {
  const secure = deps.config.publicUrl.startsWith("https://");
  const common = { path: "/", sameSite: "lax" as const, secure, expires: session.expiresAt };
  reply.setCookie(SESSION_COOKIE, session.token, { ...common, httpOnly: true });
  // Readable by the console's script, which echoes it in the CSRF header; useless to another site.
  reply.setCookie(CSRF_COOKIE, session.csrfToken, { ...common, httpOnly: false });
}

export function setDeviceCookie(reply: FastifyReply, deps: AppDeps, device: DeviceCookie): void {
  reply.setCookie(DEVICE_COOKIE, device.token, {
    path: SIGN_IN_PATH,
    httpOnly: true,
    sameSite: "strict",
    secure: deps.config.publicUrl.startsWith("https://"),
    expires: device.expiresAt,
  });
}

export function clearSessionCookies(reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, { path: "/" });
  reply.clearCookie(CSRF_COOKIE, { path: "/" });
}
