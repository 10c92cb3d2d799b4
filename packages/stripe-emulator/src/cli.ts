import { parseArgs } from "node:util";
import { pino } from "pino";
import { startStripeEmulator } from "./index.js";

const USAGE = `Usage: meterline-stripe-emulator [options]

  --port <n>             port to listen on (default 12111; 0 = any free port)
  --host <address>       address to listen on (default 127.0.0.1)
  --api-key <key>        the secret key the emulator accepts (default sk_test_emulator)
  --webhook-url <url>    where signed events are POSTed (default: none, events are only stored)
  --webhook-secret <s>   the secret deliveries are signed with (default whsec_emulator)
  --data-file <path>     keep all state in this JSON file across restarts (default: in memory)
  --public-url <url>     origin of the hosted pages' links (default http://localhost:<port>)
  --log-level <level>    pino level (default info)
`;

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}`);
  process.exit(2);
}

function parse() {
  try {
    return parseArgs({
      options: {
        port: { type: "string", default: "12111" },
        host: { type: "string", default: "127.0.0.1" },
        "api-key": { type: "string", default: "sk_test_emulator" },
        "webhook-url": { type: "string" },
        "webhook-secret": { type: "string", default: "whsec_emulator" },
        "data-file": { type: "string" },
        "public-url": { type: "string" },
        "log-level": { type: "string", default: "info" },
        help: { type: "boolean", default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    return fail((error as Error).message);
  }
}

const values = parse();
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65_535)
  fail(`--port must be 0 to 65535; got ${values.port}`);
const webhookUrl = values["webhook-url"];
if (webhookUrl !== undefined && !URL.canParse(webhookUrl)) fail(`--webhook-url is not a URL: ${webhookUrl}`);

const emulator = await startStripeEmulator({
  port,
  host: values.host,
  apiKey: values["api-key"],
  webhook: webhookUrl ? { url: webhookUrl, secret: values["webhook-secret"] } : null,
  dataFile: values["data-file"] ?? null,
  logger: pino({ level: values["log-level"] }, pino.destination(2)),
  ...(values["public-url"] ? { publicUrl: values["public-url"] } : {}),
});
process.stdout.write(`Stripe emulator listening at ${emulator.url}\n`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void emulator.close().then(() => process.exit(0));
  });
}
