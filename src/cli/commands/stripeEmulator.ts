import path from "node:path";
import { loadConfig } from "../../config.js";
import { createLogger } from "../../logger.js";
import { UsageError } from "../command.js";

export async function stripeEmulator(args: string[]): Promise<void> {
  if (args.length) throw new UsageError(`stripe-emulator takes no arguments; got ${args.join(" ")}`);
  const config = loadConfig();
  const apiKey = config.stripe.secretKey ?? "sk_test_emulator";
  const webhookSecret = config.stripe.webhookSecrets[0] ?? "whsec_emulator";
  // Loaded on demand, like `start` does: a production build never needs the emulator's sources.
  const { startStripeEmulator } = await import("@meterline/stripe-emulator");
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
}
