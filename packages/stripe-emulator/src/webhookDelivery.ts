import type { Logger } from "pino";
import type { Clock } from "./clock.js";
import { renderEvent } from "./objects.js";
import type { EventRecord, Store } from "./store.js";
import { signWebhookPayload } from "./webhookSignature.js";

export interface RetryPolicy {
  attempts: number;
  initialDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 8, initialDelayMs: 1000 };

const DELIVERY_TIMEOUT_MS = 10_000;

export interface WebhookDeliveryOptions {
  store: Store;
  webhook: { url: string; secret: string } | null;
  baseClock: Clock;
  retry: RetryPolicy;
  logger: Logger | undefined;
  /** Called after each attempt, so delivery state survives a restart. */
  persist(): void;
}

interface Delivery {
  eventId: string;
  attempt: number;
  /** Real milliseconds: retries wait in real time, whatever the emulator's clock says. */
  dueAt: number;
  /** A replay is a single extra delivery, for checking a receiver is idempotent; never retried. */
  replay: boolean;
  done?: () => void;
}

/**
 * How first attempts are ordered. Stripe guarantees no order; by default the emulator keeps
 * creation order, and `shuffle` makes it take any due delivery at random, each first attempt
 * held back a random 0 to `maxDelayMs` ms, so a receiver must converge whatever comes first.
 */
export interface DeliveryOrder {
  shuffle: boolean;
  maxDelayMs: number;
}

/**
 * POSTs events to the webhook endpoint, signed, one at a time, first attempts in creation order
 * unless `order` shuffles them. A failed attempt (non-2xx or network error) is retried later with
 * doubling delays while the following events go on, so a receiver sees late and out-of-order
 * events as from Stripe.
 */
export class WebhookDelivery {
  private readonly queue: Delivery[] = [];
  private readonly idleWaiters: (() => void)[] = [];
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private closed = false;
  private readonly options: WebhookDeliveryOptions;
  order: DeliveryOrder = { shuffle: false, maxDelayMs: 0 };

  constructor(options: WebhookDeliveryOptions) {
    this.options = options;
  }

  get enabled(): boolean {
    return this.options.webhook !== null;
  }

  /** Queues events left undelivered by a previous run (the data file keeps them). */
  resume(): void {
    for (const event of this.options.store.events.all()) if (!event.settled) this.enqueue(event.id);
  }

  enqueue(eventId: string): void {
    if (!this.enabled || this.closed) return;
    const delayMs = this.order.shuffle ? Math.floor(Math.random() * (this.order.maxDelayMs + 1)) : 0;
    this.queue.push({ eventId, attempt: 1, dueAt: Date.now() + delayMs, replay: false });
    // Later, so the events of one request are all queued before the first is picked.
    if (this.order.shuffle) setImmediate(() => this.pump());
    else this.pump();
  }

  /** Delivers every event `times` more times (shuffled if asked); resolves with the count once all were tried. */
  async replay({ times, shuffle }: { times: number; shuffle: boolean }): Promise<number> {
    if (!this.enabled || this.closed) return 0;
    const ids = this.options.store.events
      .all()
      .flatMap((event) => Array.from({ length: times }, () => event.id));
    if (shuffle) {
      for (let i = ids.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [ids[i], ids[j]] = [ids[j] as string, ids[i] as string];
      }
    }
    const deliveries = ids.map(
      (eventId) =>
        new Promise<void>((done) => {
          this.queue.push({ eventId, attempt: 1, dueAt: Date.now(), replay: true, done });
        }),
    );
    this.pump();
    await Promise.all(deliveries);
    return ids.length;
  }

  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    this.closed = true;
    this.abort.abort();
    if (this.timer) clearTimeout(this.timer);
    for (const delivery of this.queue.splice(0)) delivery.done?.();
    this.notifyIdle();
  }

  private isIdle(): boolean {
    return this.closed || (this.queue.length === 0 && !this.running);
  }

  private notifyIdle(): void {
    if (!this.isIdle()) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private pump(): void {
    if (this.running || this.closed) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.running = true;
    void this.work().finally(() => {
      this.running = false;
      this.scheduleNext();
      this.notifyIdle();
    });
  }

  private async work(): Promise<void> {
    for (;;) {
      const now = Date.now();
      const due = this.queue.flatMap((delivery, index) => (delivery.dueAt <= now ? [index] : []));
      const index = (this.order.shuffle ? due[Math.floor(Math.random() * due.length)] : due[0]) ?? -1;
      const delivery = index === -1 ? undefined : this.queue.splice(index, 1)[0];
      if (!delivery || this.closed) return;
      await this.deliver(delivery);
    }
  }

  private scheduleNext(): void {
    if (this.closed || this.queue.length === 0) return;
    const next = Math.min(...this.queue.map((delivery) => delivery.dueAt));
    this.timer = setTimeout(() => this.pump(), Math.max(0, next - Date.now()));
  }

  private async deliver(delivery: Delivery): Promise<void> {
    const { store, webhook, retry, logger } = this.options;
    const event = store.events.get(delivery.eventId);
    if (!event || !webhook) return delivery.done?.();
    const { status, error } = await this.post({ event, webhook });
    if (this.closed) return delivery.done?.();
    event.deliveries.push({ at: new Date().toISOString(), status, error, replay: delivery.replay });
    const delivered = status !== null && status >= 200 && status < 300;
    if (!delivery.replay && !delivered) {
      const failure = { event: event.id, type: event.type, attempt: delivery.attempt, status, error };
      if (delivery.attempt < retry.attempts) {
        const delayMs = retry.initialDelayMs * 2 ** (delivery.attempt - 1);
        logger?.warn(
          { ...failure, retryInMs: delayMs },
          "stripe emulator: webhook delivery failed, will retry",
        );
        this.queue.push({ ...delivery, attempt: delivery.attempt + 1, dueAt: Date.now() + delayMs });
      } else {
        logger?.error(failure, "stripe emulator: webhook delivery failed, giving up");
        event.settled = true;
      }
    } else if (!delivery.replay) {
      event.settled = true;
    }
    this.options.persist();
    delivery.done?.();
  }

  private async post({
    event,
    webhook,
  }: {
    event: EventRecord;
    webhook: { url: string; secret: string };
  }): Promise<{ status: number | null; error: string | null }> {
    const payload = JSON.stringify(renderEvent(event), null, 2);
    // Signed with real time: the receiver checks the timestamp against its own clock.
    const timestamp = Math.floor(this.options.baseClock.now().getTime() / 1000);
    try {
      const response = await fetch(webhook.url, {
        method: "POST",
        headers: {
          "content-type": "application/json; charset=utf-8",
          "stripe-signature": signWebhookPayload({ payload, secret: webhook.secret, timestamp }),
          "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        },
        body: payload,
        signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(DELIVERY_TIMEOUT_MS)]),
      });
      await response.arrayBuffer();
      return { status: response.status, error: null };
    } catch (error) {
      return { status: null, error: error instanceof Error ? error.message : String(error) };
    }
  }
}
