import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import { z } from "zod";
import { isUnstorableText } from "../db/pgErrors.js";
import { AppError, type ErrorCode, httpStatusOf } from "../domain/errors.js";

export const errorBody = z
  .object({
    error: z.object({
      code: z.string().meta({ example: "invalid_request" }),
      message: z.string(),
      request_id: z.string(),
    }),
  })
  .meta({ id: "Error" });

function send(reply: FastifyReply, request: FastifyRequest, code: ErrorCode, message: string) {
  return reply
    .code(httpStatusOf(code))
    .type("application/json; charset=utf-8")
    .send(JSON.stringify({ error: { code, message, request_id: request.id } }));
}

/** Names every offending field: `body.email: Invalid email address; body.extra: unknown field`. */
function describeValidation(
  context: string | undefined,
  issues: { instancePath: string; message?: string; params: Record<string, unknown> }[],
): string {
  const where = context ?? "request";
  const parts = issues.flatMap((issue) => {
    const path = issue.instancePath.split("/").filter(Boolean);
    const field = [where, ...path].join(".");
    const keys = issue.params.keys;
    if (Array.isArray(keys)) return keys.map((key) => `${field}.${String(key)}: unknown field`);
    return [`${field}: ${issue.message ?? "invalid"}`];
  });
  return parts.join("; ");
}

const fastifyCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: "payload_too_large",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "unsupported_media_type",
};

/**
 * Errors Fastify meets before any route runs (a malformed or overlong URL): answered in the
 * same shape as every other error.
 */
export function frameworkErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  reply.header("x-request-id", request.id);
  return send(reply, request, "invalid_request", `The address is not valid: ${error.message}`);
}

/**
 * JSON bodies decoded strictly: bytes that are not UTF-8 are refused rather than read as U+FFFD
 * and stored; then Fastify's own parser, which refuses `__proto__` and `constructor` keys.
 */
export function registerJsonParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser("error", "error");
  const decoder = new TextDecoder("utf-8", { fatal: true });
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (request, body, done) => {
    let text: string;
    try {
      text = decoder.decode(body as Buffer);
    } catch {
      done(new AppError("invalid_request", "body: not valid UTF-8"), undefined);
      return;
    }
    parse(request, text, done);
  });
}

export function registerErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(error)) {
      return send(
        reply,
        request,
        "invalid_request",
        describeValidation(error.validationContext, error.validation),
      );
    }
    if (error instanceof AppError) {
      if (error.retryAfterSeconds !== null) reply.header("retry-after", String(error.retryAfterSeconds));
      return send(reply, request, error.code, error.message);
    }
    if (isUnstorableText(error)) {
      return send(
        reply,
        request,
        "invalid_request",
        "The request contains text that cannot be stored (a NUL byte?)",
      );
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const code = fastifyCodes[error.code] ?? (status === 429 ? "rate_limited" : "invalid_request");
      return send(reply, request, code, error.message);
    }
    request.log.error({ err: error }, "request failed");
    return send(
      reply,
      request,
      "internal",
      "Something went wrong on our side; the request id helps us find it",
    );
  });

  app.setNotFoundHandler((request, reply) =>
    send(reply, request, "not_found", `No route ${request.method} ${request.url.split("?")[0]}`),
  );
}
