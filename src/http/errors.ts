import { randomUUID } from "node:crypto";
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
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

/** `req_` and 20 hex digits; randomUUID draws from a buffered entropy pool, randomBytes does not. */
export function newRequestId(): string {
  return `req_${randomUUID().replaceAll("-", "").slice(0, 20)}`;
}

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
 * What Node's HTTP server refuses before Fastify sees a request: a client too slow with its
 * headers or body (the deadlines in app.ts), headers too large, a request line that is not HTTP.
 * Answered in the same shape as every other error, then the connection is closed.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const [code, message]: [ErrorCode, string] =
    error.code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? ["request_timeout", "The request took too long to arrive: send it again, all at once"]
      : error.code === "HPE_HEADER_OVERFLOW"
        ? ["headers_too_large", "The request's headers are too large"]
        : ["invalid_request", "The request is not well-formed HTTP"];
  const status = httpStatusOf(code);
  const body = JSON.stringify({ error: { code, message, request_id: newRequestId() } });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
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
