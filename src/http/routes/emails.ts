import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { emailKinds, emailStatuses, type MemberEmailKind, memberEmailKinds } from "../../domain/emails.js";
import { readEmailPreferences, setEmailPreferences } from "../../services/emails/emailPreferences.js";
import { type EmailView, readEmails } from "../../services/emails/readEmails.js";
import { orgAccess } from "../auth.js";
import type { AppDeps } from "../deps.js";
import { errorResponses, orgParams, timestamp } from "../schemas.js";

const email = z.object({
  id: z.string(),
  kind: z.enum(emailKinds),
  subject: z.string(),
  text: z.string().describe("the plain-text body"),
  recipients: z.array(z.string()),
  status: z
    .enum(emailStatuses)
    .describe("pending (queued or waiting to retry), sending, sent, failed (attempts used up), unconfirmed"),
  transport: z.string().nullable().describe("smtp, or mailbox when no SMTP server is set"),
  attempts: z.number().int(),
  last_error: z.string().nullable(),
  created_at: timestamp,
  sent_at: timestamp.nullable(),
});

function emailView(row: EmailView): z.output<typeof email> {
  return {
    id: row.id,
    kind: row.kind,
    subject: row.subject,
    text: row.text,
    recipients: row.recipients,
    status: row.status,
    transport: row.transport,
    attempts: row.attempts,
    last_error: row.last_error,
    created_at: row.created_at,
    sent_at: row.sent_at,
  };
}

const page = z.strictObject({
  cursor: z
    .string()
    .regex(/^eml_[0-9a-z]{26}$/, "is not a cursor from a previous page")
    .optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

const preferences = z.object(
  Object.fromEntries(memberEmailKinds.map((kind) => [kind, z.boolean()])) as Record<
    MemberEmailKind,
    z.ZodBoolean
  >,
);

export const emailRoutes: FastifyPluginAsyncZod<{ deps: AppDeps }> = async (app, { deps }) => {
  const db = deps.db.kysely;

  app.get(
    "/v1/orgs/:org/emails",
    {
      schema: {
        tags: ["emails"],
        summary: "The organization's emails, newest first: what was sent, and what is pending",
        params: orgParams,
        querystring: page,
        response: {
          200: z.object({ items: z.array(email), next_cursor: z.string().nullable() }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      await orgAccess(request, deps, { orgId: request.params.org, permission: "billing:read" });
      const { items, nextCursor } = await readEmails({
        db,
        orgId: request.params.org,
        publicUrl: deps.config.publicUrl,
        cursor: request.query.cursor ?? null,
        limit: request.query.limit,
        forMembers: true,
      });
      return { items: items.map(emailView), next_cursor: nextCursor };
    },
  );

  app.get(
    "/v1/orgs/:org/email-preferences",
    {
      schema: {
        tags: ["emails"],
        summary:
          "Which kinds of the organization's email you receive (owners and billing admins receive them)",
        params: orgParams,
        response: { 200: preferences, ...errorResponses },
      },
    },
    async (request) => {
      const { user } = await orgAccess(request, deps, { orgId: request.params.org, permission: "org:read" });
      return readEmailPreferences({ db, orgId: request.params.org, userId: user.userId });
    },
  );

  app.patch(
    "/v1/orgs/:org/email-preferences",
    {
      schema: {
        tags: ["emails"],
        summary:
          "Opt in or out of kinds of the organization's email, for yourself; kinds left out keep their setting",
        params: orgParams,
        body: preferences.partial().strict(),
        response: { 200: preferences, ...errorResponses },
      },
    },
    async (request) => {
      const { user } = await orgAccess(request, deps, { orgId: request.params.org, permission: "org:read" });
      return setEmailPreferences({
        db,
        orgId: request.params.org,
        userId: user.userId,
        receive: request.body,
      });
    },
  );
};
