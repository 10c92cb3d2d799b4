import { parseArgs } from "node:util";
import { loadConfig } from "../../config.js";
import { migrate } from "../../db/migrate.js";
import { type KeyScope, keyScopes } from "../../domain/access.js";
import { createApiKey } from "../../services/accounts/apiKeys.js";
import { getOrg } from "../../services/accounts/orgDirectory.js";
import { openCommandDatabase, textFlag, UsageError } from "../command.js";

export async function keys(args: string[]): Promise<void> {
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
  const name = values.name === undefined ? undefined : textFlag("--name", values.name, 200);
  const config = loadConfig();
  const org = values.org;
  const db = await openCommandDatabase(
    config,
    org
      ? (url) =>
          `The organization's owner or admin can create its key through the server instead: POST ${url}/v1/orgs/${org}/api-keys ${JSON.stringify({ name: name ?? "CLI key", scopes })}.`
      : null,
  );
  try {
    await migrate({ db });
    const orgId = values.org ?? null;
    if (orgId) await getOrg({ db: db.kysely, orgId });
    const { key } = await createApiKey({
      db: db.kysely,
      orgId,
      name: name ?? (orgId ? "CLI key" : "CLI platform key"),
      scopes: scopes as KeyScope[],
      createdBy: null,
      now: new Date(),
    });
    process.stdout.write(`${key}\n`);
  } finally {
    await db.close();
  }
}
