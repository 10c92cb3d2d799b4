import type { Kysely } from "kysely";
import type { Db } from "../db/client.js";
import { availableCredits } from "../db/creditReads.js";
import { listenForOrgChanges } from "../db/notifications.js";
import type { Schema } from "../db/schema.js";
import type { Catalog } from "../domain/catalog.js";
import type { Clock } from "../domain/clock.js";
import { type Action, decideEntitlements, type Entitlement } from "../domain/entitlements.js";
import { AppError } from "../domain/errors.js";
import { readUsage, type UsageReport } from "../services/usage/readUsage.js";

export interface OrgEntitlements {
  orgId: string;
  actions: Record<Action, Entitlement>;
  report: UsageReport;
  computedAt: Date;
}

interface Entry {
  value: OrgEntitlements | null;
  /** The version the value was read at. */
  valueVersion: number;
  /** When it stops being right by itself: the cycle rolls over, a trial or grace period ends. */
  validUntil: number;
  /** Bumped by every invalidation. */
  version: number;
  dirtySince: number | null;
  refreshing: { version: number; promise: Promise<OrgEntitlements> } | null;
}

/** How long a check may answer from a superseded entry while its refresh runs. */
const STALE_MS = 250;
/** Read again at least this often, even with no change announced (a silently lost listener). */
const MAX_AGE_MS = 60_000;

/**
 * Entitlements per organization, answered from memory. Any usage, payment or plan change
 * invalidates the organization (in this process and in others, through LISTEN/NOTIFY); the next
 * check refreshes it, and until that refresh lands, for at most STALE_MS, answers from the
 * previous entry so a busy organization's checks never queue behind the database. A refresh that
 * started before the latest invalidation never settles a check that must be fresh. Entries also
 * expire by themselves when the cycle, trial or grace period ends, and after MAX_AGE_MS.
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
    const now = this.#clock.now().getTime();
    let entry = this.#entries.get(orgId);
    if (!entry) {
      entry = { value: null, valueVersion: -1, validUntil: 0, version: 0, dirtySince: now, refreshing: null };
      this.#entries.set(orgId, entry);
    }
    if (entry.value && entry.dirtySince === null && now < entry.validUntil) return entry.value;
    entry.dirtySince ??= entry.validUntil;
    const current =
      entry.refreshing?.version === entry.version ? entry.refreshing.promise : this.#refresh(orgId, entry);
    if (entry.value && now - entry.dirtySince < STALE_MS) return entry.value;
    return current;
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

  #refresh(orgId: string, entry: Entry): Promise<OrgEntitlements> {
    const version = entry.version;
    const promise = this.#compute(orgId).then(
      (value) => {
        if (entry.refreshing?.version === version) entry.refreshing = null;
        // A slower, older refresh never overwrites a newer one.
        if (version >= entry.valueVersion) {
          entry.value = value;
          entry.valueVersion = version;
          entry.validUntil = validUntil(value);
          if (entry.version === version) entry.dirtySince = null;
        }
        return value;
      },
      (error: unknown) => {
        if (entry.refreshing?.version === version) entry.refreshing = null;
        if (error instanceof AppError && error.code === "not_found" && !entry.value)
          this.#entries.delete(orgId);
        throw error;
      },
    );
    entry.refreshing = { version, promise };
    // A refresh nobody waits for (the stale answer went out) may fail unobserved: the entry stays
    // dirty and the next check tries again.
    promise.catch(() => {});
    return promise;
  }

  async #compute(orgId: string): Promise<OrgEntitlements> {
    const now = this.#clock.now();
    const [report, credits] = await Promise.all([
      readUsage({ db: this.#db, catalog: this.#catalog, orgId, now, storageHistory: false }),
      availableCredits(this.#db, { orgId, now }),
    ]);
    const actions = decideEntitlements({
      hasPlan: report.standing.plan !== null,
      usage: report.raw,
      measured: report.measured,
      creditsAvailableMicros: credits.available,
    });
    return { orgId, actions, report, computedAt: now };
  }
}

function validUntil(value: OrgEntitlements): number {
  const { standing, cycle } = value.report;
  const computed = value.computedAt.getTime();
  const ends = [
    cycle.end,
    standing.source === "trial" ? standing.trialEndsAt : null,
    standing.graceEndsAt,
    standing.currentPeriodEnd,
  ]
    .map((end) => end?.getTime() ?? Number.POSITIVE_INFINITY)
    // An end already behind us (a lapsed period) changes nothing any more.
    .filter((end) => end > computed);
  return Math.min(computed + MAX_AGE_MS, ...ends);
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
  const stop = await listenForOrgChanges(
    db,
    (orgId) => cache.invalidate([orgId]),
    () => cache.invalidateAll(),
  );
  return { cache, stop };
}
