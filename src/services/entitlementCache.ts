import type { Kysely } from "kysely";
import type { Db } from "../db/client.js";
import type { Schema } from "../db/schema.js";
import { USAGE_CHANNEL } from "../db/usageAggregateRepo.js";
import type { Catalog } from "../domain/catalog.js";
import type { Clock } from "../domain/clock.js";
import { type Action, decideEntitlements, type Entitlement } from "../domain/entitlements.js";
import { AppError } from "../domain/errors.js";
import { readUsage, type UsageReport } from "./readUsage.js";

export interface OrgEntitlements {
  orgId: string;
  actions: Record<Action, Entitlement>;
  report: UsageReport;
  computedAt: Date;
}

interface Entry {
  value: OrgEntitlements | null;
  /** When it stops being right by itself: the cycle rolls over, a trial or grace period ends. */
  validUntil: number;
  /** Bumped by every invalidation; a refresh that started before the last one leaves it dirty. */
  version: number;
  dirtySince: number | null;
  refreshing: Promise<OrgEntitlements> | null;
}

/** How long a check may answer from a superseded entry while its refresh runs. */
const STALE_MS = 250;

/**
 * Entitlements per organization, answered from memory. Any usage, payment or plan change
 * invalidates the organization (in this process directly, in others through LISTEN/NOTIFY);
 * the next check refreshes it, and until that refresh lands, for at most STALE_MS, answers
 * from the previous entry so a busy organization's checks never queue behind the database.
 * Entries also expire by themselves when the cycle, trial or grace period ends.
 */
export class EntitlementCache {
  readonly #entries = new Map<string, Entry>();
  readonly #db: Kysely<Schema>;
  readonly #catalog: Catalog;
  readonly #clock: Clock;

  constructor({ db, catalog, clock }: { db: Kysely<Schema>; catalog: Catalog; clock: Clock }) {
    this.#db = db;
    this.#catalog = catalog;
    this.#clock = clock;
  }

  /** The organization's entitlements; `not_found` when it does not exist. */
  get(orgId: string): Promise<OrgEntitlements> | OrgEntitlements {
    const entry = this.#entries.get(orgId);
    const now = this.#clock.now().getTime();
    if (entry?.value && entry.dirtySince === null && now < entry.validUntil) return entry.value;
    if (!entry) return this.#refresh(orgId, this.#newEntry(orgId));
    if (entry.dirtySince === null) entry.dirtySince = entry.validUntil;
    const refreshing = entry.refreshing ?? this.#refresh(orgId, entry);
    if (entry.value && now - entry.dirtySince < STALE_MS) return entry.value;
    return refreshing;
  }

  async check(orgId: string, action: Action): Promise<Entitlement> {
    return (await this.get(orgId)).actions[action];
  }

  /** Everything, when notifications may have been missed (the listener reconnected). */
  invalidateAll(): void {
    this.invalidate(this.#entries.keys());
  }

  invalidate(orgIds: Iterable<string>): void {
    const now = this.#clock.now().getTime();
    for (const orgId of orgIds) {
      const entry = this.#entries.get(orgId);
      if (!entry) continue;
      entry.version += 1;
      entry.dirtySince ??= now;
    }
  }

  #newEntry(orgId: string): Entry {
    const entry: Entry = {
      value: null,
      validUntil: 0,
      version: 0,
      dirtySince: null,
      refreshing: null,
    };
    this.#entries.set(orgId, entry);
    return entry;
  }

  #refresh(orgId: string, entry: Entry): Promise<OrgEntitlements> {
    const version = entry.version;
    const refreshing = this.#compute(orgId).then(
      (value) => {
        entry.refreshing = null;
        entry.value = value;
        entry.validUntil = validUntil(value);
        if (entry.version === version) entry.dirtySince = null;
        return value;
      },
      (error: unknown) => {
        entry.refreshing = null;
        if (error instanceof AppError && error.code === "not_found" && !entry.value)
          this.#entries.delete(orgId);
        throw error;
      },
    );
    entry.refreshing = refreshing;
    // A refresh nobody waits for (the stale answer went out) may fail unobserved: the entry stays
    // dirty and the next check tries again.
    refreshing.catch(() => {});
    return refreshing;
  }

  async #compute(orgId: string): Promise<OrgEntitlements> {
    const now = this.#clock.now();
    const report = await readUsage({
      db: this.#db,
      catalog: this.#catalog,
      orgId,
      now,
      storageHistory: false,
    });
    const actions = decideEntitlements({
      hasPlan: report.standing.plan !== null,
      usage: report.raw,
      measured: report.measured,
      // Prepaid credits arrive with the credit ledger; until then no organization holds any.
      creditsAvailableMicros: 0n,
    });
    return { orgId, actions, report, computedAt: now };
  }
}

function validUntil(value: OrgEntitlements): number {
  const { standing, cycle } = value.report;
  const ends = [cycle.end.getTime()];
  if (standing.source === "trial") ends.push(standing.trialEndsAt.getTime());
  if (standing.graceEndsAt) ends.push(standing.graceEndsAt.getTime());
  if (standing.currentPeriodEnd) ends.push(standing.currentPeriodEnd.getTime());
  return Math.min(...ends);
}

/**
 * The cache, listening for the changes every process announces on the database (usage,
 * subscriptions), so an API process learns of another's writes. `stop` ends the listening.
 */
export async function startEntitlementCache({
  db,
  catalog,
  clock,
}: {
  db: Db;
  catalog: Catalog;
  clock: Clock;
}): Promise<{ cache: EntitlementCache; stop: () => Promise<void> }> {
  const cache = new EntitlementCache({ db: db.kysely, catalog, clock });
  const stop = await db.listen(
    USAGE_CHANNEL,
    (orgId) => cache.invalidate([orgId]),
    () => cache.invalidateAll(),
  );
  return { cache, stop };
}
