import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../src/config.js";
import { type Db, openDatabase } from "../src/db/client.js";
import { migrate } from "../src/db/migrate.js";
import { createOrg } from "../src/services/accounts/createOrg.js";
import { signUp } from "../src/services/accounts/signUp.js";
import { runCli as run } from "./support/cli.js";
import { availableEngines, createTestDatabase, type Engine } from "./support/databases.js";

const engines = await availableEngines();

interface Target {
  env: Record<string, string>;
  dir: string;
  orgId: string;
  otherOrgId: string;
  cleanup(): Promise<void>;
}

/** Two trial orgs made through the services, on the database the CLI will open. */
async function makeOrgs(db: Db): Promise<{ orgId: string; otherOrgId: string }> {
  const now = new Date();
  const { user } = await signUp({
    db: db.kysely,
    email: `usage-cli-${Date.now()}@example.test`,
    password: "correct horse battery staple",
    name: "Ann",
    now,
  });
  const org = await createOrg({ db: db.kysely, owner: user, name: "Acme", trialDays: 15, now });
  const other = await createOrg({ db: db.kysely, owner: user, name: "Other", trialDays: 15, now });
  return { orgId: org.id, otherOrgId: other.id };
}

async function makeTarget(engine: Engine): Promise<Target> {
  const dir = mkdtempSync(path.join(tmpdir(), "meterline-cli-usage-"));
  const removeDir = async () => rmSync(dir, { recursive: true, force: true });
  if (engine === "pglite") {
    // PGlite's folder is one process's at a time: close it before the CLI opens it.
    const config: Database = { engine: "pglite", dataDir: path.join(dir, "pglite") };
    const db = await openDatabase(config);
    try {
      await migrate({ db });
      return { env: { DATA_DIR: dir }, dir, ...(await makeOrgs(db)), cleanup: removeDir };
    } finally {
      await db.close();
    }
  }
  const database = await createTestDatabase("postgres");
  const url = database.config.engine === "postgres" ? database.config.url : "";
  return {
    env: { DATABASE_URL: url, DATA_DIR: dir },
    dir,
    ...(await makeOrgs(database.db)),
    cleanup: async () => {
      await database.drop();
      await removeDir();
    },
  };
}

interface MetricView {
  unit: string;
  used: number;
  included: number;
  percent: number | null;
  overage: number;
  overage_cost: string;
  forecast: { at_cycle_end: number; quota_reached_on: string | null };
}

for (const engine of engines) {
  describe(`meterline usage [${engine}]`, () => {
    let target: Target;
    let events: string;
    const file = (name: string, text: string) => {
      const at = path.join(target.dir, name);
      writeFileSync(at, text);
      return at;
    };

    beforeAll(async () => {
      target = await makeTarget(engine);
      // 1,000 devices in app-a and 1,000 in app-b, 500 of them in both: 1,500 distinct MAU.
      const timestamp = new Date().toISOString();
      const base = { org_id: target.orgId, timestamp };
      const lines: object[] = [];
      for (let i = 0; i < 1000; i++)
        lines.push({ ...base, id: `a-${i}`, app_id: "app-a", metric: "mau", device_id: `device-${i}` });
      for (let i = 500; i < 1500; i++)
        lines.push({ ...base, id: `b-${i}`, app_id: "app-b", metric: "mau", device_id: `device-${i}` });
      for (let i = 0; i < 500; i++)
        lines.push({ ...base, id: `bw-${i}`, app_id: "app-a", metric: "bandwidth", value: 1_048_576 });
      events = file("events.ndjson", `${lines.map((line) => JSON.stringify(line)).join("\n")}\n`);
    });
    afterAll(() => target.cleanup());

    it("imports 2,500 NDJSON events in batches; usage show counts a device in two apps once", async () => {
      const imported = await run(["usage", "import", events], target.env);
      expect(imported.code, imported.stderr).toBe(0);
      expect(imported.stdout).toBe("accepted 2500, duplicates 0, rejected 0\n");

      const json = await run(["usage", "show", target.orgId, "--json"], target.env);
      expect(json.code, json.stderr).toBe(0);
      const view = JSON.parse(json.stdout) as {
        org: string;
        plan: string;
        cycle: { start: string; end: string };
        metrics: Record<string, MetricView>;
      };
      expect(view).toMatchObject({
        org: target.orgId,
        plan: "solo",
        advice: { current: { plan: "solo", interval: "month", trial: true } },
      });
      expect(view.metrics.mau).toMatchObject({
        unit: "MAU",
        used: 1500,
        included: 2000,
        percent: 75,
        overage: 0,
        overage_cost: "0.000000",
      });
      // 500 × 1 MiB
      expect(view.metrics.bandwidth).toMatchObject({ unit: "GiB", used: 0.488281, included: 13 });
      expect(Date.parse(view.cycle.start)).toBeLessThanOrEqual(Date.now());

      const table = await run(["usage", "show", target.orgId], target.env);
      expect(table.code, table.stderr).toBe(0);
      expect(table.stdout).toContain(`organization ${target.orgId}: solo trial until`);
      expect(table.stdout).toMatch(/^mau\s+MAU\s+1,500 \/ 2,000\s+75\.0%\s+0\s+0\.00\s/m);
      expect(table.stdout).toMatch(/^bandwidth\s+GiB\s+0\.488 \/ 13\s/m);
      // The advisor's answer closes the table (its figures are pinned by the advisor's own suites).
      expect(table.stdout).toMatch(
        /^advice: (Solo|Maker|Team|Enterprise), billed (monthly|yearly)\. \S.+\.$/m,
      );
    }, 60_000);

    it("importing the same file again finds every event a duplicate", async () => {
      const again = await run(["usage", "import", events], target.env);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toBe("accepted 0, duplicates 2500, rejected 0\n");
    }, 60_000);

    it("imports CSV with a header row, quoted cells and empty cells left out", async () => {
      const timestamp = new Date().toISOString();
      const csv = file(
        "events.csv",
        [
          "id,org_id,app_id,metric,timestamp,device_id,value",
          `csv-1,${target.orgId},app-c,mau,${timestamp},"device, with comma",`,
          `csv-2,${target.orgId},app-c,build_minutes,${timestamp},,125`,
          `csv-3,${target.orgId},app-c,bandwidth,${timestamp},,"2048"`,
          `csv-4,${target.orgId},app-c`,
          "",
        ].join("\r\n"),
      );
      const result = await run(["usage", "import", csv], target.env);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toBe(
        "accepted 3, duplicates 0, rejected 1\n" +
          "line 5: invalid_event: malformed CSV row: 3 fields where the header has 7\n",
      );
    }, 60_000);

    it("reports a line that is not JSON and an unknown metric by line number, and imports the rest", async () => {
      const timestamp = new Date().toISOString();
      const event = (id: string, extra: object) =>
        JSON.stringify({ id, org_id: target.orgId, app_id: "app-d", timestamp, ...extra });
      const mixed = file(
        "mixed.jsonl",
        [
          event("mixed-1", { metric: "mau", device_id: "device-mixed-1" }),
          '{"id": "mixed-2", "org_id":',
          event("mixed-3", { metric: "bandwidth", value: 10 }),
          event("mixed-4", { metric: "cpu_seconds", value: 10 }),
          "",
          event("mixed-5", { metric: "build_minutes", value: 60 }),
        ].join("\n"),
      );
      const result = await run(["usage", "import", mixed], target.env);
      expect(result.code, result.stderr).toBe(0);
      const [summary, ...rejections] = result.stdout.trim().split("\n");
      expect(summary).toBe("accepted 3, duplicates 0, rejected 2");
      expect(rejections).toHaveLength(2);
      expect(rejections[0]).toMatch(/^line 2: invalid_event: not valid JSON/);
      expect(rejections[1]).toMatch(/^line 4: invalid_event: metric: /);
    }, 60_000);

    it("exits 1 for an unreadable file or an unknown org, 2 without a file or with an unknown format", async () => {
      // Only the last one opens the database, so they can run side by side even on PGlite.
      const [missing, noFile, unknownFormat, unknownOrg] = await Promise.all([
        run(["usage", "import", path.join(target.dir, "missing.ndjson")], target.env),
        run(["usage", "import"], target.env),
        run(["usage", "import", file("events.txt", "")], target.env),
        run(["usage", "show", "org_missing"], target.env),
      ]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain("missing.ndjson: no such file");
      expect(missing.stdout).toBe("");
      expect(noFile.code).toBe(2);
      expect(noFile.stderr).toContain("needs a FILE");
      expect(unknownFormat.code).toBe(2);
      expect(unknownFormat.stderr).toContain("--format");
      expect(unknownOrg.code).toBe(1);
      expect(unknownOrg.stderr).toMatch(/organization org_missing not found/i);
      expect(unknownOrg.stdout).toBe("");
    }, 60_000);

    it("--org refuses events of another organization; a file of only those exits 1", async () => {
      const timestamp = new Date().toISOString();
      const event = (id: string, orgId: string) =>
        JSON.stringify({ id, org_id: orgId, app_id: "app-e", metric: "mau", timestamp, device_id: id });
      const both = file(
        "both.ndjson",
        `${event("org-1", target.orgId)}\n${event("org-2", target.otherOrgId)}\n`,
      );
      const restricted = await run(["usage", "import", both, "--org", target.orgId], target.env);
      expect(restricted.code, restricted.stderr).toBe(0);
      expect(restricted.stdout).toBe(
        "accepted 1, duplicates 0, rejected 1\n" +
          `line 2: unknown_org: organization ${target.otherOrgId} is not ${target.orgId}, the one given by --org\n`,
      );

      const othersOnly = file("others.ndjson", `${event("org-3", target.otherOrgId)}\n`);
      const refused = await run(["usage", "import", othersOnly, "--org", target.orgId], target.env);
      expect(refused.code).toBe(1);
      expect(refused.stdout).toMatch(/^accepted 0, duplicates 0, rejected 1\n/);
      expect(refused.stderr).toContain("every event");
    }, 60_000);

    it("credits grant grants once per --key, and refuses bad amounts", async () => {
      const args = ["credits", "grant", target.orgId, "12.5", "--note", "launch", "--key", "cli-grant-1"];
      const first = await run(args, target.env);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toBe(`granted 12.500000 credits to ${target.orgId}; balance 12.500000\n`);
      const again = await run(args, target.env);
      expect(again.stdout).toBe(`already granted 12.500000 credits to ${target.orgId}; balance 12.500000\n`);
      expect((await run(["credits", "grant", target.orgId, "-3", "--note", "x"], target.env)).code).toBe(2);
      expect((await run(["credits", "grant", target.orgId, "3"], target.env)).code).toBe(2);
      const note = await run(["credits", "grant", target.orgId, "3", "--note", "gift\u2067"], target.env);
      expect(note.code).toBe(2);
      expect(note.stderr).toContain("--note");
      const missing = await run(["credits", "grant", "org_missing", "3", "--note", "x"], target.env);
      expect(missing.code).toBe(1);
    }, 60_000);

    it("credits expire queues expiry warnings, and mail list shows the mailbox", async () => {
      const soon = new Date(Date.now() + 3 * 86_400_000).toISOString();
      const granted = await run(
        ["credits", "grant", target.otherOrgId, "7", "--note", "soon", "--expires-at", soon],
        target.env,
      );
      expect(granted.code, granted.stderr).toBe(0);
      const expire = await run(["credits", "expire"], target.env);
      expect(expire.stdout).toBe("expired 0 grants; queued 1 expiry warning\n");
      expect((await run(["credits", "expire"], target.env)).stdout).toBe(
        "expired 0 grants; queued 0 expiry warnings\n",
      );

      const listed = await run(["mail", "list", "--org", target.otherOrgId, "--body"], target.env);
      expect(listed.code, listed.stderr).toBe(0);
      expect(listed.stdout).toMatch(/Z {2}pending +org_\w+ {2}\S+@example\.test/);
      expect(listed.stdout).toMatch(/ {2}7\.00 credits expire on \d{1,2} \w+ 20\d\d\n/);
      expect(listed.stdout).toContain(`/credits?org=${target.otherOrgId}`);
      const json = JSON.parse((await run(["mail", "list", "--json"], target.env)).stdout);
      expect(json[0]).toMatchObject({
        kind: "credits_expiring",
        org_id: target.otherOrgId,
        status: "pending",
      });
      expect((await run(["mail", "list", "--org", target.orgId], target.env)).stdout).toBe("no emails\n");
      expect((await run(["mail", "list", "--limit", "0"], target.env)).code).toBe(2);
      expect((await run(["mail", "send"], target.env)).code).toBe(2);
    }, 60_000);
  });
}
