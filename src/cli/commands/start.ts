import { loadConfig } from "../../config.js";
import { startMeterline } from "../../main.js";
import { inUse } from "../command.js";

export async function start(): Promise<void> {
  const config = loadConfig();
  const meterline = await startMeterline({ config }).catch((error) => {
    throw inUse(
      error,
      (url) =>
        `Meterline already serves this folder at ${url}: use it, or give this server its own DATA_DIR.`,
    );
  });
  meterline.app.log.info({ url: meterline.url, database: config.database.engine }, "Meterline is running");
  const lines = [
    "",
    `  Meterline is running at ${meterline.url}`,
    `  Console: ${meterline.url}/plans   API reference: ${meterline.url}/docs   health: ${meterline.url}/healthz`,
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
}
