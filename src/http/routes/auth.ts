import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { plainText } from "../../domain/text.js";
import { changePassword } from "../../services/accounts/changePassword.js";
import { recognizeDevice, rememberDevice } from "../../services/accounts/deviceCookies.js";
import { orgsOfUser } from "../../services/accounts/orgDirectory.js";
import { endAllSessions, endSession } from "../../services/accounts/sessions.js";
import { logIn, signUp } from "../../services/accounts/signUp.js";
import {
  clearSessionCookies,
  currentUser,
  DEVICE_COOKIE,
  setDeviceCookie,
  setSessionCookies,
} from "../auth.js";
import type { AppDeps } from "../deps.js";
import { type RateLimiters, spend, spendSignIn } from "../rateLimits.js";
import { email, errorResponses, noBody, role } from "../schemas.js";

const user = z.object({ id: z.string(), email: z.string(), name: z.string() });
const signedIn = z.object({ user, csrf_token: z.string() });
const newPassword = z
  .string()
  .min(10, "must be at least 10 characters")
  .max(200)
  .regex(/^\P{Cs}*$/u, "must not contain unpaired surrogates");

export const authRoutes: FastifyPluginAsyncZod<{ deps: AppDeps; limiters: RateLimiters }> = async (
  app,
  { deps, limiters },
) => {
  const db = deps.db.kysely;

  app.post(
    "/v1/auth/signup",
    {
      config: { auth: "public" },
      schema: {
        tags: ["auth"],
        summary: "Create an account and sign in",
        body: z.strictObject({
          email,
          password: newPassword,
          name: plainText({ max: 200 }),
        }),
        response: { 201: signedIn, ...errorResponses },
      },
    },
    async (request, reply) => {
      const now = deps.clock.now();
      spend({
        limiter: limiters.signupPerAddress,
        key: request.ip,
        now,
        what: "sign-ups from this address",
      });
      const result = await signUp({ db, ...request.body, now });
      setSessionCookies(reply, deps, result.session);
      setDeviceCookie(reply, deps, await rememberDevice({ db, userId: result.user.id, now }));
      return reply.code(201).send({ user: result.user, csrf_token: result.session.csrfToken });
    },
  );

  app.post(
    "/v1/auth/login",
    {
      config: { auth: "public" },
      schema: {
        tags: ["auth"],
        summary: "Sign in with email and password",
        body: z.strictObject({ email, password: z.string().min(1).max(200) }),
        response: { 200: signedIn, ...errorResponses },
      },
    },
    async (request, reply) => {
      const now = deps.clock.now();
      const { email } = request.body;
      const device = await recognizeDevice({ db, token: request.cookies[DEVICE_COOKIE], email, now });
      spendSignIn({ limiters, email, address: request.ip, device, now });
      const result = await logIn({ db, ...request.body, now });
      setSessionCookies(reply, deps, result.session);
      if (device === undefined) {
        setDeviceCookie(reply, deps, await rememberDevice({ db, userId: result.user.id, now }));
      }
      return { user: result.user, csrf_token: result.session.csrfToken };
    },
  );

  app.post(
    "/v1/auth/logout",
    {
      schema: {
        tags: ["auth"],
        summary: "End this session",
        body: noBody,
        response: { 204: z.null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      await endSession({ db, sessionId: currentUser(request).sessionId });
      clearSessionCookies(reply);
      return reply.code(204).send(null);
    },
  );

  app.post(
    "/v1/auth/logout-all",
    {
      schema: {
        tags: ["auth"],
        summary: "End every session of the signed-in user, this one included",
        body: noBody,
        response: { 204: z.null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      await endAllSessions({ db, userId: currentUser(request).userId });
      clearSessionCookies(reply);
      return reply.code(204).send(null);
    },
  );

  app.post(
    "/v1/auth/password",
    {
      schema: {
        tags: ["auth"],
        summary: "Change the password, ending every other session of the user",
        body: z.strictObject({ current_password: z.string().min(1).max(200), new_password: newPassword }),
        response: { 204: z.null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const me = currentUser(request);
      const now = deps.clock.now();
      spend({
        limiter: limiters.loginPerAddress,
        key: request.ip,
        now,
        what: "sign-ins from this address",
      });
      spend({
        limiter: limiters.passwordCheckPerUser,
        key: me.userId,
        now,
        what: "password checks of this account",
      });
      await changePassword({
        db,
        userId: me.userId,
        sessionId: me.sessionId,
        currentPassword: request.body.current_password,
        newPassword: request.body.new_password,
      });
      return reply.code(204).send(null);
    },
  );

  app.get(
    "/v1/me",
    {
      schema: {
        tags: ["auth"],
        summary: "The signed-in user and the organizations they belong to",
        response: {
          200: z.object({
            user,
            orgs: z.array(z.object({ id: z.string(), name: z.string(), role })),
            csrf_token: z.string(),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const me = currentUser(request);
      return {
        user: { id: me.userId, email: me.email, name: me.name },
        orgs: await orgsOfUser({ db, userId: me.userId }),
        csrf_token: me.csrfToken,
      };
    },
  );
};
