import { parseArgs } from "node:util";
import { loadConfig } from "../../config.js";
import { migrate } from "../../db/migrate.js";
import { consoleLinks } from "../../domain/consoleLinks.js";
import { readEmails } from "../../services/emails/readEmails.js";
import { openCommandDatabase, UsageError } from "../command.js";

/** `mail list`. */
export async function mail(args: string[]): Promise<void> {
  const [action, ...rest] = args;
  if (action !== "list") throw new UsageError(`unknown mail action: ${action ?? "(none)"}`);
  const { values, positionals } = parseArgs({
    args: rest,
    options: {
      org: { type: "string" },
      limit: { type: "string", default: "20" },
      body: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length) throw new UsageError(`mail list takes no arguments; got ${positionals.join(" ")}`);
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new UsageError(`--limit must be a whole number from 1 to 1000; got ${values.limit}`);
  }
  const config = loadConfig();
  const org = values.org;
  const db = await openCommandDatabase(config, (url) =>
    org
      ? `Ask the server instead: GET ${url}/v1/orgs/${org}/emails as the organization's owner, billing admin or admin, or open ${consoleLinks(url, org).usage}.`
      : `Ask the server instead: GET ${url}/v1/orgs/ORG/emails for each organization, as its owner, billing admin or admin, or open its console's Usage page.`,
  );
  try {
    await migrate({ db });
    const { items } = await readEmails({
      db: db.kysely,
      orgId: values.org ?? null,
      publicUrl: config.publicUrl,
      cursor: null,
      limit,
    });
    if (values.json) {
      const view = items.map(({ facts, html, ...email }) => email);
      process.stdout.write(`${JSON.stringify(view, null, 2)}\n`);
      return;
    }
    if (items.length === 0) process.stdout.write("no emails\n");
    for (const email of items) {
      const when = (email.sent_at ?? email.created_at).toISOString().replace(/\.\d+Z$/, "Z");
      process.stdout.write(
        `${when}  ${email.status.padEnd(11)}  ${email.org_id}  ${email.recipients.join(", ")}\n`,
      );
      process.stdout.write(`  ${email.subject}\n`);
      if (values.body) process.stdout.write(`${email.text.replace(/^/gm, "    ")}\n\n`);
    }
  } finally {
    await db.close();
  }
}
