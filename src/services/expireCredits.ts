import type { Kysely } from "kysely";
import type { Logger } from "pino";
import { lockAccount, postOperation } from "../db/creditRepo.js";
import type { Schema } from "../db/schema.js";
import { inTransaction } from "../db/transaction.js";
import { formatCredits } from "../domain/money.js";

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

const EVERY_MS = 10 * 60_000;

/** Expires credits at start and every ten minutes in the server; any process may: it is idempotent. */
export function startCreditExpiry({
  db,
  clock,
  logger,
}: {
  db: Kysely<Schema>;
  clock: { now(): Date };
  logger?: Pick<Logger, "error" | "info"> | undefined;
}): { stop: () => void } {
  const run = () =>
    expireCredits({ db, now: clock.now() }).then(
      ({ expired }) => {
        if (expired) logger?.info({ expired }, "credits expired");
      },
      (error: unknown) => logger?.error({ err: error }, "expiring credits failed; next run in ten minutes"),
    );
  void run();
  const timer = setInterval(run, EVERY_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
