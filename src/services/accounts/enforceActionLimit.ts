import type { Kysely } from "kysely";
import { latestActions } from "../../db/actionLimitRepo.js";
import type { Schema } from "../../db/schema.js";
import {
  actionLimits,
  assertWithinLimit,
  type LimitedAction,
  recentWindow,
} from "../../domain/actionLimits.js";

/**
 * Refuses `action` by `actor` (429 with when to retry) when the window already holds its limit,
 * counted from the rows the action wrote. Run it in the transaction that writes the action, after
 * locking the actor, so two racing requests cannot both pass.
 */
export async function enforceActionLimit({
  tx,
  action,
  actor,
  now,
}: {
  tx: Kysely<Schema>;
  action: LimitedAction;
  actor: string;
  now: Date;
}): Promise<void> {
  const limit = actionLimits[action];
  const newest = await latestActions(tx, { action, actor, ...recentWindow({ limit, now }) });
  assertWithinLimit({ limit, newest, now });
}
