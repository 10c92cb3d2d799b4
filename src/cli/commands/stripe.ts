import { ConfigError, loadConfig } from "../../config.js";
import { migrate } from "../../db/migrate.js";
import { formatCents } from "../../domain/money.js";
import { syncStripeCatalog } from "../../services/subscriptions/syncStripeCatalog.js";
import { StripeGateway } from "../../stripe/gateway.js";
import { openCommandDatabase, UsageError } from "../command.js";

export async function stripe(args: string[]): Promise<void> {
  const [action, ...rest] = args;
  if (action !== "sync" || rest.length)
    throw new UsageError(`unknown stripe action: ${args.join(" ") || "(none)"}`);
  const config = loadConfig();
  if (!config.stripe.secretKey) {
    throw new ConfigError(
      "STRIPE_SECRET_KEY is not set: `meterline start` syncs the catalog to its local emulator by itself",
    );
  }
  const db = await openCommandDatabase(config, null);
  try {
    await migrate({ db });
    const gateway = new StripeGateway({ secretKey: config.stripe.secretKey, apiUrl: config.stripe.apiUrl });
    const synced = await syncStripeCatalog({
      db: db.kysely,
      stripe: gateway,
      catalog: config.catalog,
      now: new Date(),
    });
    const portal = await gateway.syncPortalConfiguration();
    const lines = [
      ...synced.map(
        (price) =>
          `${price.plan.padEnd(12)} ${price.interval.padEnd(6)} ${formatCents(price.unitAmountCents, config.catalog.currency).padStart(12)}  ${price.priceId}  ${price.action}`,
      ),
      `${"portal".padEnd(12)} ${"".padEnd(6)} ${"".padStart(12)}  ${portal.id}  ${portal.action}`,
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
  } finally {
    await db.close();
  }
}
