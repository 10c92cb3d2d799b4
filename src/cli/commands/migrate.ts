import { loadConfig } from "../../config.js";
import { migrate as applyMigrations } from "../../db/migrate.js";
import { openCommandDatabase } from "../command.js";

export async function migrate(): Promise<void> {
  const config = loadConfig();
  const db = await openCommandDatabase(
    config,
    (url) =>
      `The server at ${url} applied every migration it has when it started; to apply newer ones, restart it (start migrates).`,
  );
  try {
    const applied = await applyMigrations({ db });
    process.stdout.write(
      applied.length
        ? `${applied.map((m) => `applied ${String(m.version).padStart(4, "0")}_${m.name}`).join("\n")}\n`
        : "database is up to date\n",
    );
  } finally {
    await db.close();
  }
}
