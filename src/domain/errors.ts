/**
 * The closed set of error codes Meterline answers with. One table maps each code to its HTTP
 * status and CLI exit code; every error body is `{ error: { code, message, request_id } }`.
 */
const errorTable = {
  invalid_request: { status: 400, exit: 2 },
  unauthenticated: { status: 401, exit: 1 },
  invalid_credentials: { status: 401, exit: 1 },
  csrf_failed: { status: 403, exit: 1 },
  forbidden: { status: 403, exit: 1 },
  not_found: { status: 404, exit: 1 },
  email_taken: { status: 409, exit: 1 },
  last_owner: { status: 409, exit: 1 },
  subscription_exists: { status: 409, exit: 1 },
  no_subscription: { status: 409, exit: 1 },
  invalid_signature: { status: 400, exit: 1 },
  payment_failed: { status: 402, exit: 1 },
  payment_pending: { status: 409, exit: 1 },
  payment_mismatch: { status: 409, exit: 1 },
  invalid_token: { status: 400, exit: 1 },
  limit_reached: { status: 409, exit: 1 },
  request_timeout: { status: 408, exit: 1 },
  payload_too_large: { status: 413, exit: 1 },
  headers_too_large: { status: 431, exit: 1 },
  unsupported_media_type: { status: 415, exit: 1 },
  rate_limited: { status: 429, exit: 1 },
  internal: { status: 500, exit: 1 },
  unavailable: { status: 503, exit: 1 },
} as const satisfies Record<string, { status: number; exit: 0 | 1 | 2 }>;

export type ErrorCode = keyof typeof errorTable;

/**
 * An expected failure with a code from the table; anything else that is thrown is a bug. A
 * refusal that passes with time says when to try again (`retryAfterSeconds`, HTTP Retry-After).
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly retryAfterSeconds: number | null;

  constructor(
    code: ErrorCode,
    message: string,
    { retryAfterSeconds = null }: { retryAfterSeconds?: number | null } = {},
  ) {
    super(message);
    this.name = "AppError";
    this.code = code;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export function httpStatusOf(code: ErrorCode): number {
  return errorTable[code].status;
}

export function exitCodeOf(code: ErrorCode): 0 | 1 | 2 {
  return errorTable[code].exit;
}

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(errorTable, value);
}
