import type { SeededRandom } from "./random.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A usage event as a sender writes it on the wire. */
export interface WireEvent {
  id: string;
  org_id: string;
  app_id: string;
  metric: "mau" | "bandwidth" | "build_minutes" | "storage";
  timestamp: string;
  device_id?: string;
  value?: number;
}

/** An API key and the organizations it may report for (every one for a platform key). */
export interface Sender {
  key: string;
  orgIds: string[];
}

export interface Batch {
  no: number;
  sender: Sender;
  events: WireEvent[];
  attempts: number;
  /** Attempts that got no HTTP answer: the server died (or the connection broke) under them. */
  unanswered: number;
  acked: boolean;
  /** Answered in a way no retry can fix (an anomaly): not sent again. */
  failed: boolean;
}

/** Where the server is right now: null while it is down or being restarted. */
export class ServerAddress {
  #url: string | null = null;
  #waiters: ((url: string) => void)[] = [];

  set(url: string | null): void {
    this.#url = url;
    if (url === null) return;
    for (const wake of this.#waiters.splice(0)) wake(url);
  }

  get current(): string | null {
    return this.#url;
  }

  next(): Promise<string> {
    return this.#url !== null
      ? Promise.resolve(this.#url)
      : new Promise((resolve) => this.#waiters.push(resolve));
  }
}

const APPS = ["ios", "android", "web"] as const;
/** Timestamps go back this far: within every organization's window, across UTC days and cycles. */
const SPREAD_MS = 40 * 3_600_000;

/**
 * Unique events of every metric for a few organizations: MAU from a pool of devices per
 * organization (so devices repeat across batches, apps and days), bandwidth and build seconds,
 * and storage readings with distinct instants per app (so the latest reading is well defined).
 */
export class EventFactory {
  #next = 0;
  readonly #random: SeededRandom;
  readonly #devicesPerOrg: number;
  readonly #storageInstants = new Set<string>();

  constructor({ random, devicesPerOrg }: { random: SeededRandom; devicesPerOrg: number }) {
    this.#random = random;
    this.#devicesPerOrg = devicesPerOrg;
  }

  event(orgId: string, now: number): WireEvent {
    const random = this.#random;
    const id = `ev-${(this.#next++).toString(36)}`;
    const app_id = random.pick(APPS);
    let at = now - random.int(0, SPREAD_MS);
    const roll = random.next();
    if (roll < 0.45) {
      const device_id = `device-${random.int(0, this.#devicesPerOrg - 1)}`;
      return { id, org_id: orgId, app_id, metric: "mau", timestamp: new Date(at).toISOString(), device_id };
    }
    if (roll < 0.7) {
      const value = random.int(0, 50 * 1024 * 1024);
      return { id, org_id: orgId, app_id, metric: "bandwidth", timestamp: new Date(at).toISOString(), value };
    }
    if (roll < 0.9) {
      const value = random.int(1, 3600);
      return {
        id,
        org_id: orgId,
        app_id,
        metric: "build_minutes",
        timestamp: new Date(at).toISOString(),
        value,
      };
    }
    while (this.#storageInstants.has(`${orgId}/${app_id}/${at}`)) at -= 1;
    this.#storageInstants.add(`${orgId}/${app_id}/${at}`);
    const value = random.int(0, 10 * 1024 ** 3);
    return { id, org_id: orgId, app_id, metric: "storage", timestamp: new Date(at).toISOString(), value };
  }
}

export interface LoaderStats {
  batchesAcked: number;
  eventsAcked: number;
  /** Events answered as accepted, and as duplicates (stored by an attempt whose reply was lost). */
  accepted: number;
  duplicates: number;
  attempts: number;
  unanswered: number;
  serverErrors: number;
  rateLimited: number;
}

/**
 * Streams batches of new events to `POST /v1/usage/events` from a few concurrent workers and
 * records exactly which events were acknowledged: a 200 whose events are all counted as accepted
 * or duplicates. Anything else (no answer, 5xx, 429) leaves the batch unacknowledged, and it is
 * sent again, unchanged, once the server answers. Each key stays well under the usage route's
 * rate limit.
 */
export class UsageLoader {
  readonly batches: Batch[] = [];
  /** Every acknowledged event, by `org_id\nid`. */
  readonly acknowledged = new Map<string, WireEvent>();
  /** Answers that no correct server gives here; the suite fails on any. */
  readonly anomalies: string[] = [];
  readonly stats: LoaderStats = {
    batchesAcked: 0,
    eventsAcked: 0,
    accepted: 0,
    duplicates: 0,
    attempts: 0,
    unanswered: 0,
    serverErrors: 0,
    rateLimited: 0,
  };
  #inFlight = new Set<Batch>();
  #outstanding = 0;
  #stopped = false;
  #retry: Batch[] = [];
  #generating = true;
  #nextSend = new Map<string, number>();
  readonly #random: SeededRandom;
  readonly #factory: EventFactory;
  readonly #senders: Sender[];
  readonly #address: ServerAddress;
  readonly #batchSize: [number, number];
  readonly #minIntervalMs: number;

  constructor(options: {
    random: SeededRandom;
    factory: EventFactory;
    senders: Sender[];
    address: ServerAddress;
    batchSize: [number, number];
    /** Per key: 20 ms is 50 batches a second, half the route's sustained limit. */
    minIntervalMs?: number;
  }) {
    this.#random = options.random;
    this.#factory = options.factory;
    this.#senders = options.senders;
    this.#address = options.address;
    this.#batchSize = options.batchSize;
    this.#minIntervalMs = options.minIntervalMs ?? 20;
  }

  /** HTTP requests sent and not answered yet. */
  get outstanding(): number {
    return this.#outstanding;
  }

  /** Runs `workers` senders until `finish()` was called and every batch is acknowledged. */
  run(workers: number): Promise<void> {
    return Promise.all(Array.from({ length: workers }, () => this.#work())).then(() => {});
  }

  /** No new batches from now on; `run` ends once the unacknowledged ones are. */
  finish(): void {
    this.#generating = false;
  }

  /** Ends every worker at its next step, acknowledged or not (after a failure). */
  stop(): void {
    this.#generating = false;
    this.#stopped = true;
  }

  async #work(): Promise<void> {
    while (!this.#stopped) {
      const batch = this.#retry.shift() ?? (this.#generating ? this.#newBatch() : undefined);
      if (!batch) {
        if (this.#inFlight.size === 0) return;
        await sleep(20);
        continue;
      }
      this.#inFlight.add(batch);
      try {
        const retryAfterMs = await this.#send(batch);
        if (!batch.acked && !batch.failed) {
          await sleep(retryAfterMs);
          this.#retry.push(batch);
        }
      } finally {
        this.#inFlight.delete(batch);
      }
    }
  }

  #newBatch(): Batch {
    const random = this.#random;
    const sender = random.pick(this.#senders);
    const size = random.int(...this.#batchSize);
    const now = Date.now();
    const events = Array.from({ length: size }, () => this.#factory.event(random.pick(sender.orgIds), now));
    const batch: Batch = {
      no: this.batches.length,
      sender,
      events,
      attempts: 0,
      unanswered: 0,
      acked: false,
      failed: false,
    };
    this.batches.push(batch);
    return batch;
  }

  /** One attempt; answers how long to wait before the next when it was not acknowledged. */
  async #send(batch: Batch): Promise<number> {
    const url = await this.#address.next();
    const key = batch.sender.key;
    const at = Math.max(Date.now(), this.#nextSend.get(key) ?? 0);
    this.#nextSend.set(key, at + this.#minIntervalMs);
    if (at > Date.now()) await sleep(at - Date.now());
    batch.attempts += 1;
    this.stats.attempts += 1;
    let response: Response;
    let body: string;
    this.#outstanding += 1;
    try {
      response = await fetch(`${url}/v1/usage/events`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ events: batch.events }),
        signal: AbortSignal.timeout(60_000),
      });
      body = await response.text();
    } catch {
      batch.unanswered += 1;
      this.stats.unanswered += 1;
      // Most likely killed: wait for the restart (a new address), else try again shortly.
      return this.#address.current === url ? 100 : 0;
    } finally {
      this.#outstanding -= 1;
    }
    if (response.status === 429) {
      this.stats.rateLimited += 1;
      return Number(response.headers.get("retry-after") ?? "1") * 1000;
    }
    if (response.status >= 500) {
      this.stats.serverErrors += 1;
      return 200;
    }
    if (response.status !== 200) {
      this.anomalies.push(`batch ${batch.no}: HTTP ${response.status} ${body.slice(0, 300)}`);
      batch.failed = true;
      return 0;
    }
    let answer: { accepted?: number; duplicates?: number; rejected?: unknown[] } = {};
    try {
      answer = JSON.parse(body);
    } catch {}
    const size = batch.events.length;
    const { accepted = -1, duplicates = -1, rejected = [null] } = answer;
    if (rejected.length > 0 || accepted < 0 || duplicates < 0 || accepted + duplicates !== size) {
      this.anomalies.push(`batch ${batch.no} of ${size}: ${body.slice(0, 300)}`);
      batch.failed = true;
      return 0;
    }
    // Sent before only if an earlier attempt got no answer or an error: nothing else can have
    // stored these new events, so a first send can report no duplicate.
    if (batch.attempts === 1 && duplicates > 0)
      this.anomalies.push(`batch ${batch.no}, first sent: ${duplicates} duplicates of new events`);
    batch.acked = true;
    for (const event of batch.events) this.acknowledged.set(`${event.org_id}\n${event.id}`, event);
    this.stats.batchesAcked += 1;
    this.stats.eventsAcked += size;
    this.stats.accepted += accepted;
    this.stats.duplicates += duplicates;
    return 0;
  }
}
