import { loadConfig } from "../src/config.js";
import { type Db, openDatabase } from "../src/db/client.js";
import { migrate } from "../src/db/migrate.js";
import { consumeOverage } from "../src/services/credits/consumeOverage.js";
import { grantCredits } from "../src/services/credits/creditGrants.js";
import { recordUsage } from "../src/services/usage/recordUsage.js";
import { withThrowawayDatabase } from "./databases.js";
import { count, heading, seconds, table } from "./format.js";
import type { BenchOptions, EngineName } from "./options.js";
import { seedOrgs } from "./seed.js";

const WORKERS = 16;

/**
 * (e) The credit ledger on PostgreSQL: postings/s through the one write path (grants, 16
 * clients) on one hot organization — every posting waits for its account lock — and spread
 * over 1,000 organizations; then ingestion with overage charged after every batch (the worst
 * case: the server coalesces charges to one per organization every 500 ms) against the same
 * ingestion for organizations without credits.
 */
export async function runLedger({ options, engines }: { options: BenchOptions; engines: EngineName[] }) {
  if (!engines.includes("postgres")) return;
  const { postings, batches } = options.ledger;
  heading(
    `(e) credit ledger on PostgreSQL: ${count(postings)} postings by ${WORKERS} clients; ${batches} usage batches`,
  );
  await withThrowawayDatabase({
    engine: "postgres",
    adminUrl: options.postgresAdminUrl,
    work: async (database) => {
      const db = await openDatabase(database);
      try {
        await migrate({ db });
        const hot = await measurePostings({ db, orgs: 1, postings });
        const spread = await measurePostings({ db, orgs: 1_000, postings });
        const plain = await measureIngestion({ db, batches, withCredits: false });
        const charged = await measureIngestion({ db, batches, withCredits: true });
        table([
          ["what", "rate", "time"],
          ["postings, one hot org", `${count(hot.rate)} postings/s`, seconds(hot.seconds)],
          ["postings, 1,000 orgs", `${count(spread.rate)} postings/s`, seconds(spread.seconds)],
          ["ingestion, no credits", `${count(plain.rate)} events/s`, seconds(plain.seconds)],
          [
            "ingestion, overage charged per batch",
            `${count(charged.rate)} events/s`,
            seconds(charged.seconds),
          ],
        ]);
        console.log(
          `  charging overage per batch keeps ${((charged.rate / plain.rate) * 100).toFixed(0)}% of the ingestion rate`,
        );
      } finally {
        await db.close();
      }
    },
  });
}

async function measurePostings({ db, orgs, postings }: { db: Db; orgs: number; postings: number }) {
  const { orgIds } = await seedOrgs({ db: db.kysely, orgs });
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      while (next < postings) {
        const i = next++;
        await grantCredits({
          db: db.kysely,
          orgId: orgIds[i % orgIds.length] as string,
          amount: 1_000_000n,
          note: "bench",
          idempotencyKey: `bench-${i}`,
          now: new Date(),
        });
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  return { rate: postings / elapsed, seconds: elapsed };
}

async function measureIngestion({
  db,
  batches,
  withCredits,
}: {
  db: Db;
  batches: number;
  withCredits: boolean;
}) {
  const { catalog } = loadConfig({ NODE_ENV: "test", LOG_LEVEL: "silent" });
  const { orgIds } = await seedOrgs({ db: db.kysely, orgs: 4 });
  if (withCredits) {
    for (const orgId of orgIds) {
      await grantCredits({
        db: db.kysely,
        orgId,
        amount: 100_000n * 1_000_000n,
        note: "bench",
        now: new Date(),
      });
    }
  }
  const tag = withCredits ? "c" : "p";
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < batches) {
        const b = next++;
        const orgId = orgIds[b % orgIds.length] as string;
        const timestamp = new Date().toISOString();
        const events = Array.from({ length: 1_000 }, (_, i) => ({
          id: `${tag}${b}-${i}`,
          org_id: orgId,
          app_id: "app",
          metric: "mau",
          device_id: `${tag}-${b}-${i}`,
          timestamp,
        }));
        await recordUsage({ db: db.kysely, keyOrgId: null, events, now: new Date() });
        if (withCredits) await consumeOverage({ db: db.kysely, catalog, orgId, now: new Date() });
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  return { rate: (batches * 1_000) / elapsed, seconds: elapsed };
}
