/**
 * Stripe's error body and the readers of request parameters. A parameter arrives as a string in
 * a form body or as JSON on the control routes; each reader accepts both and names the parameter
 * in Stripe's bracket notation when it refuses one, so the SDK's error carries the same `param`.
 */

export type StripeErrorType = "invalid_request_error" | "card_error" | "api_error" | "idempotency_error";

export class StripeApiError extends Error {
  readonly status: number;
  readonly type: StripeErrorType;
  readonly code: string | undefined;
  readonly param: string | undefined;
  readonly declineCode: string | undefined;

  constructor({
    status,
    type,
    message,
    code,
    param,
    declineCode,
  }: {
    status: number;
    type: StripeErrorType;
    message: string;
    code?: string;
    param?: string;
    declineCode?: string;
  }) {
    super(message);
    this.status = status;
    this.type = type;
    this.code = code;
    this.param = param;
    this.declineCode = declineCode;
  }

  toBody(requestId: string): { error: Record<string, string> } {
    const error: Record<string, string> = { type: this.type, message: this.message };
    if (this.code) error.code = this.code;
    if (this.param) error.param = this.param;
    if (this.declineCode) error.decline_code = this.declineCode;
    error.request_log_url = `https://dashboard.stripe.com/test/logs/${requestId}`;
    return { error };
  }
}

export function invalidRequest(message: string, param?: string, code?: string): StripeApiError {
  return new StripeApiError({
    status: 400,
    type: "invalid_request_error",
    message,
    ...(param ? { param } : {}),
    ...(code ? { code } : {}),
  });
}

export function resourceMissing(kind: string, id: string, param = "id"): StripeApiError {
  return new StripeApiError({
    status: 404,
    type: "invalid_request_error",
    code: "resource_missing",
    message: `No such ${kind}: '${id}'`,
    param,
  });
}

export type Metadata = Record<string, string>;

type Raw = Record<string, unknown>;

export class Params {
  private readonly values: Raw;
  private readonly prefix: string;

  constructor(values: unknown, prefix = "") {
    this.values = isRecord(values) ? values : {};
    this.prefix = prefix;
  }

  name(key: string): string {
    return this.prefix === "" ? key : `${this.prefix}[${key}]`;
  }

  has(key: string): boolean {
    return this.values[key] !== undefined;
  }

  hasObject(key: string): boolean {
    return isRecord(this.values[key]);
  }

  string(key: string): string | undefined {
    const value = this.values[key];
    if (value === undefined) return undefined;
    if (typeof value === "string") return value;
    if (typeof value === "number" || typeof value === "boolean") return String(value);
    throw invalidRequest(`Invalid string: ${this.name(key)} must be a string.`, this.name(key));
  }

  requiredString(key: string): string {
    const value = this.string(key);
    if (value === undefined || value === "") throw missing(this.name(key));
    return value;
  }

  /** An empty string unsets a nullable field, as the SDK sends `null`. */
  nullableString(key: string): string | null | undefined {
    const value = this.string(key);
    return value === "" ? null : value;
  }

  /** An absolute http(s) URL, as Stripe requires of redirect URLs. */
  url(key: string): string | undefined {
    const value = this.string(key);
    if (value === undefined) return undefined;
    if (!/^https?:$/.test(URL.parse(value)?.protocol ?? "")) {
      throw invalidRequest("Not a valid URL", this.name(key), "url_invalid");
    }
    return value;
  }

  enumOf<T extends string>(key: string, allowed: readonly T[]): T | undefined {
    const value = this.string(key);
    if (value === undefined) return undefined;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    throw invalidRequest(
      `Invalid ${this.name(key)}: must be one of ${allowed.join(", ")}`,
      this.name(key),
      "parameter_invalid_string",
    );
  }

  integer(key: string): number | undefined {
    const value = this.values[key];
    if (value === undefined || value === "") return undefined;
    const text = typeof value === "number" ? String(value) : typeof value === "string" ? value : "";
    if (!/^-?\d{1,15}$/.test(text)) {
      throw invalidRequest(`Invalid integer: ${String(value)}`, this.name(key), "parameter_invalid_integer");
    }
    return Number(text);
  }

  requiredInteger(key: string): number {
    const value = this.integer(key);
    if (value === undefined) throw missing(this.name(key));
    return value;
  }

  boolean(key: string): boolean | undefined {
    const value = this.values[key];
    if (value === undefined || value === "") return undefined;
    if (value === true || value === "true") return true;
    if (value === false || value === "false") return false;
    throw invalidRequest(`Invalid boolean: ${String(value)}`, this.name(key));
  }

  object(key: string): Params | undefined {
    const value = this.values[key];
    if (value === undefined || value === "") return undefined;
    if (!isRecord(value)) throw invalidRequest(`Invalid object: ${this.name(key)}`, this.name(key));
    return new Params(value, this.name(key));
  }

  list(key: string): Params[] | undefined {
    const value = this.values[key];
    if (value === undefined || value === "") return undefined;
    const items = Array.isArray(value) ? value : isRecord(value) ? Object.values(value) : null;
    if (!items) throw invalidRequest(`Invalid array: ${this.name(key)}`, this.name(key));
    return items.map((item, index) => new Params(item, `${this.name(key)}[${index}]`));
  }

  strings(key: string): string[] | undefined {
    const value = this.values[key];
    if (value === undefined || value === "") return undefined;
    if (typeof value === "string") return [value];
    const items = Array.isArray(value) ? value : isRecord(value) ? Object.values(value) : [];
    return items.filter((item): item is string => typeof item === "string");
  }

  /**
   * Metadata as an update: `null` clears every key (`metadata=` on the wire), a key given an
   * empty string is removed, others are set.
   */
  metadataUpdate(key = "metadata"): Record<string, string | null> | null | undefined {
    const value = this.values[key];
    if (value === undefined) return undefined;
    if (value === "") return null;
    if (!isRecord(value)) throw invalidRequest(`Invalid hash: ${this.name(key)}`, this.name(key));
    const update: Record<string, string | null> = {};
    for (const [k, v] of Object.entries(value)) {
      if (typeof v !== "string" && typeof v !== "number") {
        throw invalidRequest(`Invalid metadata value for ${k}`, `${this.name(key)}[${k}]`);
      }
      update[k] = v === "" ? null : String(v);
    }
    return update;
  }

  expand(): string[] {
    return this.strings("expand") ?? [];
  }
}

export function applyMetadata({
  current,
  update,
}: {
  current: Metadata;
  update: Record<string, string | null> | null | undefined;
}): Metadata {
  if (update === undefined) return current;
  if (update === null) return {};
  const next = { ...current };
  for (const [key, value] of Object.entries(update)) {
    if (value === null) delete next[key];
    else next[key] = value;
  }
  return next;
}

function missing(param: string): StripeApiError {
  return invalidRequest(`Missing required param: ${param}.`, param, "parameter_missing");
}

export function isRecord(value: unknown): value is Raw {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
