import path from "node:path";
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "../config.js";
import { openDatabase } from "../db/client.js";
import { migrate } from "../db/migrate.js";
import { type KeyScope, keyScopes } from "../domain/access.js";
import { AppError, exitCodeOf } from "../domain/errors.js";
import { formatCents } from "../domain/money.js";
import { createLogger } from "../logger.js";
import { startMeterline } from "../main.js";
import { createApiKey } from "../services/apiKeys.js";
import { getOrg } from "../services/orgDirectory.js";
import { syncStripeCatalog } from "../services/syncStripeCatalog.js";
import { startStripeEmulator } from "../stripe/emulator/index.js";
import { StripeGateway } from "../stripe/gateway.js";

const usage = `Usage: meterline <command> [options]

Commands:
  start                                   serve the API and console (migrates first)
  migrate                                 apply pending database migrations
  keys create (--platform | --org ORG) --scopes a,b [--name N]
                                          create a service API key; prints the key alone
                                          scopes: ${keyScopes.join(", ")} (admin: platform keys only)
  stripe sync                             create or update Stripe's products and prices from the
                                          plan catalog (idempotent) and record their ids
  stripe-emulator                         run the local Stripe emulator on its own

Configuration comes from the environment (PORT, DATA_DIR, DATABASE_URL, …); see README.md.
Exit codes: 0 ok, 1 failure, 2 bad usage.`;

class UsageError extends Error {}

type Command = (args: string[]) => Promise<void>;

const commands: Record<string, Command> = {
  async start() {
    const config = loadConfig();
    const meterline = await startMeterline({ config });
    meterline.app.log.info({ url: meterline.url, database: config.database.engine }, "Meterline is running");
    const lines = [
      "",
      `  Meterline is running at ${meterline.url}`,
      `  API reference: ${meterline.url}/docs   health: ${meterline.url}/healthz`,
      `  Database: ${config.database.engine === "postgres" ? "PostgreSQL" : `PGlite in ${config.database.dataDir}`}`,
      `  Stripe: ${meterline.stripeEmulator ? `local emulator at ${meterline.stripeEmulator.url} (test card 4242 4242 4242 4242)` : (config.stripe.apiUrl ?? "api.stripe.com")}`,
    ];
    if (meterline.demo) {
      lines.push(
        "",
        "  Demo data (printed on this first start only):",
        `    login         ${meterline.demo.email} / ${meterline.demo.password}`,
        `    organization  ${meterline.demo.orgId}`,
        `    platform key  ${meterline.demo.platformKey}`,
      );
    }
    process.stdout.write(`${lines.join("\n")}\n\n`);
    let closing = false;
    const stop = async () => {
      if (closing) return;
      closing = true;
      await meterline.close();
      process.exit(0);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  },

  async migrate() {
    const config = loadConfig();
    const db = await openDatabase(config.database);
    try {
      const applied = await migrate({ db });
      process.stdout.write(
        applied.length
          ? `${applied.map((m) => `applied ${String(m.version).padStart(4, "0")}_${m.name}`).join("\n")}\n`
          : "database is up to date\n",
      );
    } finally {
      await db.close();
    }
  },

  async stripe(args) {
    const [action, ...rest] = args;
    if (action !== "sync" || rest.length)
      throw new UsageError(`unknown stripe action: ${args.join(" ") || "(none)"}`);
    const config = loadConfig();
    if (!config.stripe.secretKey) {
      throw new ConfigError(
        "STRIPE_SECRET_KEY is not set: `meterline start` syncs the catalog to its local emulator by itself",
      );
    }
    const db = await openDatabase(config.database);
    try {
      await migrate({ db });
      const gateway = new StripeGateway({ secretKey: config.stripe.secretKey, apiUrl: config.stripe.apiUrl });
      const synced = await syncStripeCatalog({
        db: db.kysely,
        stripe: gateway,
        catalog: config.catalog,
        now: new Date(),
      });
      const lines = synced.map(
        (price) =>
          `${price.plan.padEnd(12)} ${price.interval.padEnd(6)} ${formatCents(price.unitAmountCents, config.catalog.currency).padStart(12)}  ${price.priceId}  ${price.action}`,
      );
      process.stdout.write(`${lines.join("\n")}\n`);
    } finally {
      await db.close();
    }
  },

  async "stripe-emulator"(args) {
    if (args.length) throw new UsageError(`stripe-emulator takes no arguments; got ${args.join(" ")}`);
    const config = loadConfig();
    const apiKey = config.stripe.secretKey ?? "sk_test_emulator";
    const webhookSecret = config.stripe.webhookSecrets[0] ?? "whsec_emulator";
    const emulator = await startStripeEmulator({
      port: config.stripeEmulatorPort,
      host: "0.0.0.0",
      apiKey,
      webhook: { url: `${config.publicUrl}/v1/webhooks/stripe`, secret: webhookSecret },
      dataFile: path.join(config.dataDir, "stripe-emulator.json"),
      logger: createLogger(config),
    });
    process.stdout.write(
      [
        "",
        `  Stripe emulator listening at ${emulator.url}`,
        `  delivering webhooks to ${config.publicUrl}/v1/webhooks/stripe`,
        "",
        "  Point Meterline at it with:",
        `    STRIPE_SECRET_KEY=${apiKey} STRIPE_WEBHOOK_SECRET=${webhookSecret} STRIPE_API_URL=${emulator.url}`,
        "",
      ].join("\n"),
    );
    const stop = async () => {
      await emulator.close();
      process.exit(0);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  },

  async keys(args) {
    const [action, ...rest] = args;
    if (action !== "create") throw new UsageError(`unknown keys action: ${action ?? "(none)"}`);
    const { values } = parseArgs({
      args: rest,
      options: {
        platform: { type: "boolean", default: false },
        org: { type: "string" },
        scopes: { type: "string" },
        name: { type: "string" },
      },
      strict: true,
    });
    if (values.platform === Boolean(values.org))
      throw new UsageError("give exactly one of --platform or --org ORG");
    const scopes = (values.scopes ?? "").split(",").map((scope) => scope.trim());
    const unknown = scopes.filter((scope) => !(keyScopes as readonly string[]).includes(scope));
    if (!values.scopes || unknown.length) {
      throw new UsageError(
        `--scopes must list some of ${keyScopes.join(", ")}; got ${values.scopes ?? "nothing"}`,
      );
    }
    if (values.name !== undefined && !values.name.trim()) throw new UsageError("--name must not be empty");
    const config = loadConfig();
    const db = await openDatabase(config.database);
    try {
      await migrate({ db });
      const orgId = values.org ?? null;
      if (orgId) await getOrg({ db: db.kysely, orgId });
      const { key } = await createApiKey({
        db: db.kysely,
        orgId,
        name: values.name ?? (orgId ? "CLI key" : "CLI platform key"),
        scopes: scopes as KeyScope[],
        createdBy: null,
        now: new Date(),
      });
      process.stdout.write(`${key}\n`);
    } finally {
      await db.close();
    }
  },
};

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === "help" || name === "--help" || name === "-h") {
    process.stdout.write(`${usage}\n`);
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`meterline: unknown command "${name}"\n\n${usage}\n`);
    return 2;
  }
  try {
    await command(args);
    return 0;
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`meterline ${name}: ${(error as Error).message}\n\n${usage}\n`);
      return 2;
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`meterline: ${error.message}\n`);
      return 2;
    }
    if (error instanceof AppError) {
      process.stderr.write(`meterline ${name}: ${error.message}\n`);
      return exitCodeOf(error.code);
    }
    process.stderr.write(
      `meterline ${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return 1;
  }
}

const exitCode = await main(process.argv.slice(2));
// `start` and `stripe-emulator` keep serving; every other command ends here.
const serving = ["start", "stripe-emulator"];
if (exitCode !== 0 || !serving.includes(process.argv[2] ?? "")) process.exit(exitCode);
