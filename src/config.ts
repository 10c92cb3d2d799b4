import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import path from "node:path";
import { z } from "zod";
import { buildCatalog, type Catalog, CatalogError } from "./domain/catalog.js";

const optionalText = z
  .string()
  .trim()
  .transform((value) => (value === "" ? undefined : value))
  .optional();

const port = z.coerce.number().int().min(0).max(65_535);

/** An address or a CIDR block: `10.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`. */
function isAddressOrBlock(entry: string): boolean {
  const [address = "", bits, ...rest] = entry.split("/");
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

const addressList = z
  .string()
  .transform((text) =>
    text
      .split(",")
      .map((entry) => entry.trim())
      .filter(Boolean),
  )
  .refine((entries) => entries.every(isAddressOrBlock), "must be addresses or CIDR blocks, comma-separated");

const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: port.default(8080),
  STRIPE_EMULATOR_PORT: port.optional(),
  DATA_DIR: z.string().trim().min(1).default("./.meterline"),
  DATABASE_URL: optionalText.pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, "must start with postgres:// or postgresql://")
      .optional(),
  ),
  PUBLIC_URL: optionalText.pipe(z.url().optional()),
  STRIPE_SECRET_KEY: optionalText,
  STRIPE_WEBHOOK_SECRET: optionalText,
  STRIPE_API_URL: optionalText.pipe(z.url().optional()),
  SMTP_URL: optionalText.pipe(z.url().optional()),
  MAIL_FROM: z.string().trim().min(3).default("Meterline <billing@meterline.local>"),
  SUPPORT_EMAIL: z.email().default("support@meterline.local"),
  CATALOG_FILE: optionalText,
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  TRUST_PROXY: addressList.default([]),
  MAX_CONNECTIONS: z.coerce.number().int().min(1).max(1_000_000).default(1_000),
});

export type Database = { engine: "pglite"; dataDir: string | null } | { engine: "postgres"; url: string };

export interface Config {
  env: "development" | "production" | "test";
  port: number;
  stripeEmulatorPort: number;
  publicUrl: string;
  /** Where local state lives: the PGlite database, the Stripe emulator's file. */
  dataDir: string;
  database: Database;
  /**
   * Without a secret key, Meterline starts the local Stripe emulator and talks to it instead.
   * `apiUrl` points the SDK elsewhere than api.stripe.com (a standalone emulator); several
   * comma-separated webhook secrets are all accepted, for rotating them.
   */
  stripe: { secretKey: string | undefined; webhookSecrets: string[]; apiUrl: string | undefined };
  mail: { smtpUrl: string | undefined; from: string; supportEmail: string };
  catalog: Catalog;
  logLevel: z.infer<typeof envSchema>["LOG_LEVEL"];
  /**
   * Proxies whose `X-Forwarded-For` names the client: addresses and CIDR blocks. Empty trusts
   * none, so the client is the socket's peer and a forged header changes nothing.
   */
  trustProxy: string[];
  /** Open connections the server holds at most; more are closed as they arrive. */
  maxConnections: number;
}

export class ConfigError extends Error {}

/**
 * Parses the environment once, at start. Nothing else in Meterline reads `process.env`:
 * everything downstream receives this object.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // An empty variable means "not set", for every variable alike.
  const given = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ""),
  );
  const parsed = envSchema.safeParse(given);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration: ${problems.join("; ")}`);
  }
  const vars = parsed.data;
  // PORT=0 (any free port) leaves the emulator to pick one too.
  const stripeEmulatorPort = vars.STRIPE_EMULATOR_PORT ?? (vars.PORT === 0 ? 0 : vars.PORT + 1);
  if (stripeEmulatorPort > 65_535) {
    throw new ConfigError(
      "Invalid configuration: STRIPE_EMULATOR_PORT: PORT is 65535, so set the emulator's port",
    );
  }
  if (vars.NODE_ENV === "production" && (!vars.STRIPE_SECRET_KEY || !vars.STRIPE_WEBHOOK_SECRET)) {
    throw new ConfigError(
      "Invalid configuration: STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET: production needs a Stripe account; " +
        "the local emulator only runs outside production",
    );
  }
  // Session cookies are `Secure` exactly when the public address is https.
  if (vars.NODE_ENV === "production" && !vars.PUBLIC_URL?.startsWith("https://")) {
    throw new ConfigError(
      "Invalid configuration: PUBLIC_URL: production needs the https:// address customers reach, " +
        "so that session cookies are only ever sent encrypted",
    );
  }
  const publicUrl = (vars.PUBLIC_URL ?? `http://localhost:${vars.PORT}`).replace(/\/+$/, "");
  return {
    env: vars.NODE_ENV,
    port: vars.PORT,
    stripeEmulatorPort,
    publicUrl,
    dataDir: path.resolve(vars.DATA_DIR),
    database: vars.DATABASE_URL
      ? { engine: "postgres", url: vars.DATABASE_URL }
      : { engine: "pglite", dataDir: path.resolve(vars.DATA_DIR, "pglite") },
    stripe: {
      secretKey: vars.STRIPE_SECRET_KEY,
      webhookSecrets: (vars.STRIPE_WEBHOOK_SECRET ?? "")
        .split(",")
        .map((secret) => secret.trim())
        .filter(Boolean),
      apiUrl: vars.STRIPE_API_URL,
    },
    mail: { smtpUrl: vars.SMTP_URL, from: vars.MAIL_FROM, supportEmail: vars.SUPPORT_EMAIL },
    catalog: vars.CATALOG_FILE ? readCatalogFile(vars.CATALOG_FILE) : buildCatalog(),
    logLevel: vars.LOG_LEVEL,
    trustProxy: vars.TRUST_PROXY,
    maxConnections: vars.MAX_CONNECTIONS,
  };
}

function readCatalogFile(file: string): Catalog {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new ConfigError(
      `Invalid configuration: CATALOG_FILE: cannot read ${file}: ${(error as Error).message}`,
    );
  }
  try {
    return buildCatalog(json);
  } catch (error) {
    if (error instanceof CatalogError) {
      throw new ConfigError(`Invalid configuration: CATALOG_FILE ${file}: ${error.message}`);
    }
    throw error;
  }
}
