import { ConfigError } from "../config.js";
import { keyScopes } from "../domain/access.js";
import { AppError, exitCodeOf } from "../domain/errors.js";
import { MAX_BATCH } from "../services/usage/recordUsage.js";
import { type Command, CommandFailure, UsageError } from "./command.js";
import { credits } from "./commands/credits.js";
import { keys } from "./commands/keys.js";
import { mail } from "./commands/mail.js";
import { migrate } from "./commands/migrate.js";
import { start } from "./commands/start.js";
import { stripe } from "./commands/stripe.js";
import { stripeEmulator } from "./commands/stripeEmulator.js";
import { usage as usageCommand } from "./commands/usage.js";

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
  usage import FILE [--org ORG] [--format ndjson|csv]
                                          import usage events from NDJSON (.ndjson, .jsonl; - for
                                          stdin) or CSV (.csv, header row of field names) in
                                          batches of ${MAX_BATCH}; --org refuses other orgs' events
  usage show ORG [--json]                 the org's current cycle and usage per metric
  credits grant ORG N --note TEXT [--expires-at ISO] [--key K]
                                          grant N credits by hand (12 months unless told);
                                          --key makes a repeated command grant once
  credits expire                          expire what is left of grants past their date and
                                          warn of those expiring within 7 days (the server
                                          also does both every ten minutes)
  mail list [--org ORG] [--limit N] [--body] [--json]
                                          the emails queued and sent, newest first (without
                                          SMTP_URL this is the local mailbox); --body adds the text

Configuration comes from the environment (PORT, DATA_DIR, DATABASE_URL, …); see docs/configuration.md.
Exit codes: 0 ok, 1 failure, 2 bad usage.`;

const commands: Record<string, Command> = {
  start,
  migrate,
  stripe,
  "stripe-emulator": stripeEmulator,
  keys,
  usage: usageCommand,
  credits,
  mail,
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
    if (error instanceof CommandFailure) {
      process.stderr.write(`meterline ${name}: ${error.message}\n`);
      return 1;
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
