import type { Kysely } from "kysely";
import { optedOutKinds, setOptedOutKinds } from "../../db/emailRepo.js";
import type { Schema } from "../../db/schema.js";
import { inTransaction } from "../../db/transaction.js";
import { type MemberEmailKind, memberEmailKinds } from "../../domain/emails.js";

/** Which kinds of email the member receives for the organization. */
export async function readEmailPreferences({
  db,
  orgId,
  userId,
}: {
  db: Kysely<Schema>;
  orgId: string;
  userId: string;
}): Promise<Record<MemberEmailKind, boolean>> {
  const out = new Set(await optedOutKinds(db, { orgId, userId }));
  return Object.fromEntries(memberEmailKinds.map((kind) => [kind, !out.has(kind)])) as Record<
    MemberEmailKind,
    boolean
  >;
}

/** Sets which kinds the member receives; kinds not named keep their setting. */
export async function setEmailPreferences({
  db,
  orgId,
  userId,
  receive,
}: {
  db: Kysely<Schema>;
  orgId: string;
  userId: string;
  receive: Partial<Record<MemberEmailKind, boolean>>;
}): Promise<Record<MemberEmailKind, boolean>> {
  return inTransaction(db, async (tx) => {
    const current = await readEmailPreferences({ db: tx, orgId, userId });
    const next = { ...current, ...receive };
    const out = memberEmailKinds.filter((kind) => next[kind] === false);
    await setOptedOutKinds(tx, { orgId, userId, kinds: out });
    return readEmailPreferences({ db: tx, orgId, userId });
  });
}
