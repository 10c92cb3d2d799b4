import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { OrgRow } from "../../db/orgRepo.js";
import { can, keyScopes, type Role } from "../../domain/access.js";
import { actionLimits } from "../../domain/actionLimits.js";
import { issuedId, plainText } from "../../domain/text.js";
import { addMember } from "../../services/accounts/addMember.js";
import { createApiKey } from "../../services/accounts/apiKeys.js";
import { createOrg } from "../../services/accounts/createOrg.js";
import { editOrg, getOrg, keysOf, membersOf, revokeKey } from "../../services/accounts/orgDirectory.js";
import { billingEmailTokenPattern, confirmBillingEmail } from "../../services/emails/confirmBillingEmail.js";
import { currentUser, orgAccess } from "../auth.js";
import type { AppDeps } from "../deps.js";
import { country, email, errorResponses, noBody, orgParams, role, timestamp } from "../schemas.js";

const org = z.object({
  id: z.string(),
  name: z.string(),
  billing_email: z.string().nullable().describe("null for members, who see no billing data"),
  billing_email_confirmed: z
    .boolean()
    .nullable()
    .describe(
      "whether the billing email confirmed it through the link sent to it; until then billing mail goes to owners and billing admins only (null for members)",
    ),
  country: z.string().nullable(),
  created_at: timestamp,
  role,
});

const member = z.object({
  user_id: z.string(),
  email: z.string(),
  name: z.string(),
  role,
  created_at: timestamp,
});

const orgKeyScope = z.enum(
  keyScopes.filter((scope) => scope !== "admin") as ["usage:write", "entitlements:read"],
);

const apiKey = z.object({
  id: z.string(),
  name: z.string(),
  org_id: z.string().nullable(),
  scopes: z.array(z.string()),
  key_prefix: z.string(),
  created_at: timestamp,
  revoked_at: timestamp.nullable(),
});

function orgView(row: OrgRow, viewerRole: Role) {
  const billing = can(viewerRole, "billing:read");
  return {
    ...row,
    billing_email: billing ? row.billing_email : null,
    billing_email_confirmed: billing ? row.billing_email_confirmed_at !== null : null,
    role: viewerRole,
  };
}

export const orgRoutes: FastifyPluginAsyncZod<{ deps: AppDeps }> = async (app, { deps }) => {
  const db = deps.db.kysely;

  app.post(
    "/v1/orgs",
    {
      schema: {
        tags: ["orgs"],
        summary: `Create an organization; you become its owner (at most ${actionLimits.orgsPerUser.max} a day)`,
        body: z.strictObject({
          name: plainText({ max: 200 }),
          billing_email: email
            .optional()
            .describe("defaults to your email; another address is sent a link to confirm it"),
          country: country.optional(),
        }),
        response: { 201: org, ...errorResponses },
      },
    },
    async (request, reply) => {
      const user = currentUser(request);
      const row = await createOrg({
        db,
        owner: { id: user.userId, email: user.email, name: user.name },
        ...request.body,
        billingEmail: request.body.billing_email,
        trialDays: deps.config.catalog.trial.days,
        limited: true,
        now: deps.clock.now(),
      });
      return reply.code(201).send(orgView(row, "owner"));
    },
  );

  app.get(
    "/v1/orgs/:org",
    {
      schema: {
        tags: ["orgs"],
        summary: "An organization you belong to",
        params: orgParams,
        response: { 200: org, ...errorResponses },
      },
    },
    async (request) => {
      const { role } = await orgAccess(request, deps, { orgId: request.params.org, permission: "org:read" });
      return orgView(await getOrg({ db, orgId: request.params.org }), role);
    },
  );

  app.patch(
    "/v1/orgs/:org",
    {
      schema: {
        tags: ["orgs"],
        summary: "Change an organization's name or billing details",
        params: orgParams,
        body: z.strictObject({
          name: plainText({ max: 200 }).optional(),
          billing_email: email
            .optional()
            .describe("a new address other than yours is sent a link and waits for it to be opened"),
          country: country.nullable().optional(),
        }),
        response: { 200: org, ...errorResponses },
      },
    },
    async (request) => {
      const { user, role } = await orgAccess(request, deps, {
        orgId: request.params.org,
        permission: "billing:write",
      });
      const row = await editOrg({
        db,
        orgId: request.params.org,
        changes: { ...request.body, billing_email: request.body.billing_email?.toLowerCase() },
        editor: user,
        now: deps.clock.now(),
      });
      return orgView(row, role);
    },
  );

  app.get(
    "/v1/orgs/:org/members",
    {
      schema: {
        tags: ["members"],
        summary: "The organization's members and their roles",
        params: orgParams,
        response: { 200: z.object({ items: z.array(member) }), ...errorResponses },
      },
    },
    async (request) => {
      await orgAccess(request, deps, { orgId: request.params.org, permission: "org:read" });
      return { items: await membersOf({ db, orgId: request.params.org }) };
    },
  );

  app.post(
    "/v1/orgs/:org/members",
    {
      schema: {
        tags: ["members"],
        summary: "Add someone who has an account, or change a member's role",
        params: orgParams,
        body: z.strictObject({ email, role }),
        response: { 200: member, ...errorResponses },
      },
    },
    async (request) => {
      const { role: actorRole } = await orgAccess(request, deps, {
        orgId: request.params.org,
        permission: "members:write",
      });
      return addMember({ db, orgId: request.params.org, actorRole, ...request.body });
    },
  );

  app.get(
    "/v1/orgs/:org/api-keys",
    {
      schema: {
        tags: ["api-keys"],
        summary: "The organization's service keys (never the keys themselves)",
        params: orgParams,
        response: { 200: z.object({ items: z.array(apiKey) }), ...errorResponses },
      },
    },
    async (request) => {
      await orgAccess(request, deps, { orgId: request.params.org, permission: "members:write" });
      return { items: await keysOf({ db, orgId: request.params.org }) };
    },
  );

  app.post(
    "/v1/orgs/:org/api-keys",
    {
      schema: {
        tags: ["api-keys"],
        summary: `Create a service key for this organization; the key is shown only in this reply (at most ${actionLimits.apiKeysPerOrg.max} a day)`,
        params: orgParams,
        body: z.strictObject({
          name: plainText({ max: 200 }),
          scopes: z.array(orgKeyScope).min(1).max(keyScopes.length),
        }),
        response: { 201: apiKey.extend({ key: z.string() }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { user } = await orgAccess(request, deps, {
        orgId: request.params.org,
        permission: "members:write",
      });
      const { row, key } = await createApiKey({
        db,
        orgId: request.params.org,
        ...request.body,
        createdBy: user.userId,
        limited: true,
        now: deps.clock.now(),
      });
      return reply.code(201).send({ ...row, key });
    },
  );

  app.delete(
    "/v1/orgs/:org/api-keys/:key",
    {
      schema: {
        tags: ["api-keys"],
        summary: "Revoke a service key; it stops working at once",
        params: orgParams.extend({ key: issuedId }),
        body: noBody,
        response: { 200: apiKey, ...errorResponses },
      },
    },
    async (request) => {
      await orgAccess(request, deps, { orgId: request.params.org, permission: "members:write" });
      return revokeKey({ db, orgId: request.params.org, keyId: request.params.key, now: deps.clock.now() });
    },
  );

  app.post(
    "/v1/billing-email/confirm",
    {
      config: { auth: "public" },
      schema: {
        tags: ["orgs"],
        summary:
          "Confirm an organization's billing email with the token of the link sent to it; no sign-in needed",
        body: z.strictObject({
          token: z.string().regex(billingEmailTokenPattern, "is not a confirmation token"),
        }),
        response: {
          200: z.object({ billing_email: z.string(), org_name: z.string(), confirmed: z.literal(true) }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { orgName, email } = await confirmBillingEmail({
        db,
        token: request.body.token,
        now: deps.clock.now(),
      });
      return { billing_email: email, org_name: orgName, confirmed: true as const };
    },
  );
};
