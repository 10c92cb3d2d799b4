import { type Kysely, sql } from "kysely";
import { lockAccount, postOperation } from "../../db/creditPosting.js";
import { queueEmail } from "../../db/emailRepo.js";
import type { Schema } from "../../db/schema.js";
import { inTransaction } from "../../db/transaction.js";
import { formatCredits } from "../../domain/money.js";

/**
 * Moves what is left of every grant past its expiry out of the balance, by an `expiry` entry.
 * Idempotent (one operation per grant) and safe beside consumption: each grant's remainder is
 * read under its organization's credit lock.
 */
export async function expireCredits({
  db,
  now,
}: {
  db: Kysely<Schema>;
  now: Date;
}): Promise<{ expired: number }> {
  const due = await db
    .selectFrom("credit_grants")
    .select(["org_id", "id"])
    .where("remaining", ">", 0n)
    .where("expires_at", "<=", now)
    // Grants that end together leave in the order credits are spent from them, so a ledger
    // replayed from the same inputs reads the same whatever order the rows lie in on disk.
    .orderBy("expires_at")
    .orderBy("created_at")
    .orderBy("id")
    .limit(10_000)
    .execute();
  let expired = 0;
  for (const grant of due) {
    const posted = await inTransaction(db, async (tx) => {
      await lockAccount(tx, { orgId: grant.org_id, now });
      const current = await tx
        .selectFrom("credit_grants")
        .select(["remaining", "expires_at"])
        .where("org_id", "=", grant.org_id)
        .where("id", "=", grant.id)
        .executeTakeFirst();
      const remaining = BigInt(current?.remaining ?? 0n);
      if (remaining === 0n) return false;
      const result = await postOperation(tx, {
        orgId: grant.org_id,
        operationKey: `expiry:${grant.id}`,
        entries: [
          {
            type: "expiry",
            amount: -remaining,
            grantId: grant.id,
            description: `${formatCredits(remaining)} credits expired`,
          },
        ],
        now,
      });
      return result.posted;
    });
    if (posted) expired += 1;
  }
  return { expired };
}

const WARN_DAYS = 7;

/**
 * Queues a warning for every grant with credits left that expires within WARN_DAYS, once per
 * grant (its dedupe key). Answers how many were queued.
 */
export async function warnExpiringCredits({ db, now }: { db: Kysely<Schema>; now: Date }): Promise<number> {
  const soon = await sql<{
    org_id: string;
    id: string;
    remaining: string;
    expires_at: Date;
    org_name: string;
  }>`
    SELECT g.org_id, g.id, g.remaining, g.expires_at, o.name AS org_name
    FROM credit_grants g JOIN orgs o ON o.id = g.org_id
    WHERE g.remaining > 0 AND g.expires_at > ${now}
      AND g.expires_at <= ${new Date(now.getTime() + WARN_DAYS * 86_400_000)}
      AND NOT EXISTS (
        SELECT 1 FROM emails e WHERE e.org_id = g.org_id AND e.dedupe_key = 'credits_expiring:' || g.id
      )
    ORDER BY g.expires_at, g.id
    LIMIT 10000
  `.execute(db);
  let queued = 0;
  for (const grant of soon.rows) {
    const sent = await queueEmail(db, {
      orgId: grant.org_id,
      dedupeKey: `credits_expiring:${grant.id}`,
      facts: {
        kind: "credits_expiring",
        org_name: grant.org_name,
        credits: formatCredits(BigInt(grant.remaining)),
        expires_at: new Date(grant.expires_at).toISOString(),
      },
      now,
    });
    if (sent) queued += 1;
  }
  return queued;
}
