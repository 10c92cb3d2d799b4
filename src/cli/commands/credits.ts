import { parseArgs } from "node:util";
import { loadConfig } from "../../config.js";
import { migrate } from "../../db/migrate.js";
import { formatCredits, parseCredits } from "../../domain/money.js";
import { grantCredits } from "../../services/credits/creditGrants.js";
import { expireCredits, warnExpiringCredits } from "../../services/credits/expireCredits.js";
import { openCommandDatabase, textFlag, UsageError } from "../command.js";

/** `credits grant` and `credits expire`. */
export async function credits(args: string[]): Promise<void> {
  const [action, ...rest] = args;
  if (action === "expire") {
    if (rest.length) throw new UsageError("credits expire takes no arguments");
    const config = loadConfig();
    const db = await openCommandDatabase(
      config,
      (url) =>
        `The server at ${url} expires grants past their date and warns of those expiring itself, every ten minutes: nothing needs running meanwhile.`,
    );
    try {
      await migrate({ db });
      const now = new Date();
      const { expired } = await expireCredits({ db: db.kysely, now });
      const warned = await warnExpiringCredits({ db: db.kysely, now });
      process.stdout.write(
        `expired ${expired} grant${expired === 1 ? "" : "s"}; queued ${warned} expiry warning${warned === 1 ? "" : "s"}\n`,
      );
    } finally {
      await db.close();
    }
    return;
  }
  if (action !== "grant") throw new UsageError(`unknown credits action: ${action ?? "(none)"}`);
  const { values, positionals } = parseArgs({
    args: rest,
    options: { note: { type: "string" }, "expires-at": { type: "string" }, key: { type: "string" } },
    allowPositionals: true,
    strict: true,
  });
  const [orgId, amountText, ...extra] = positionals;
  if (!orgId || !amountText || extra.length) throw new UsageError("credits grant takes ORG and N");
  const amount = parseCredits(amountText);
  if (amount === null || amount <= 0n)
    throw new UsageError(`N must be a positive number of credits; got ${amountText}`);
  if (values.note === undefined) throw new UsageError("--note is required: say why the credits are granted");
  const note = textFlag("--note", values.note, 500);
  const expiresAt = values["expires-at"] ? new Date(values["expires-at"]) : undefined;
  if (expiresAt && Number.isNaN(expiresAt.getTime()))
    throw new UsageError("--expires-at must be an ISO 8601 instant");
  const config = loadConfig();
  const db = await openCommandDatabase(config, (url) => {
    const body = { amount: formatCredits(amount), note, expires_at: expiresAt?.toISOString() };
    const header = values.key ? ` with the header Idempotency-Key: ${values.key}` : "";
    return `Grant through the server instead, with a platform key holding admin: POST ${url}/v1/admin/orgs/${orgId}/credits/grants ${JSON.stringify(body)}${header}.`;
  });
  try {
    await migrate({ db });
    const { posted, entry } = await grantCredits({
      db: db.kysely,
      orgId,
      amount,
      expiresAt,
      note,
      idempotencyKey: values.key,
      now: new Date(),
    });
    process.stdout.write(
      `${posted ? "granted" : "already granted"} ${formatCredits(entry.amount)} credits to ${orgId}; balance ${formatCredits(entry.balance_after)}\n`,
    );
  } finally {
    await db.close();
  }
}
