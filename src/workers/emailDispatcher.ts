import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Db } from "../db/client.js";
import {
  abandonStaleClaims,
  claimDueEmails,
  type EmailRow,
  markEmailFailed,
  markEmailSent,
} from "../db/emailRepo.js";
import { EMAIL_QUEUED_CHANNEL } from "../db/notifications.js";
import type { Schema } from "../db/schema.js";
import type { Clock } from "../domain/clock.js";
import { consoleLinks } from "../domain/consoleLinks.js";
import { renderEmail } from "../domain/emailTexts.js";
import type { MailTransport } from "../mail/transport.js";

export interface DispatchSettings {
  from: string;
  /** The console's base URL, for the links in each email. */
  publicUrl: string;
  /** First retry after this, doubling each time, up to an hour. */
  retryBaseMs: number;
  maxAttempts: number;
  /** A claim older than this belongs to a dispatcher that stopped mid-send. */
  claimLeaseMs: number;
}

export const defaultDispatchSettings = {
  retryBaseMs: 30_000,
  maxAttempts: 10,
  claimLeaseMs: 10 * 60_000,
} satisfies Partial<DispatchSettings>;

const BATCH = 20;

/**
 * Sends what the outbox holds, oldest first: claims a batch (committed, so no other dispatcher
 * takes it and nothing claimed is sent twice), sends each, and marks it sent — or due again
 * after a backoff when the SMTP server refuses or is away. Safe with any number of dispatchers
 * across processes.
 */
export class EmailDispatcher {
  readonly #db: Kysely<Schema>;
  readonly #transport: MailTransport;
  readonly #settings: DispatchSettings;
  readonly #clock: Clock;
  readonly #logger: Pick<Logger, "error" | "warn"> | undefined;
  #running: Promise<void> | null = null;
  #again = false;
  #closed = false;

  constructor({
    db,
    transport,
    settings,
    clock,
    logger,
  }: {
    db: Kysely<Schema>;
    transport: MailTransport;
    settings: DispatchSettings;
    clock: Clock;
    logger?: Pick<Logger, "error" | "warn"> | undefined;
  }) {
    this.#db = db;
    this.#transport = transport;
    this.#settings = settings;
    this.#clock = clock;
    this.#logger = logger;
  }

  /** Sends what is due now; a call while sending makes it look again once done. */
  wake(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = this.#drain().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  /** Resolves when nothing is being sent (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.idle();
    this.#transport.close();
  }

  async #drain(): Promise<void> {
    do {
      this.#again = false;
      try {
        const stale = await abandonStaleClaims(this.#db, {
          before: new Date(this.#clock.now().getTime() - this.#settings.claimLeaseMs),
        });
        if (stale > 0)
          this.#logger?.warn({ emails: stale }, "emails left mid-send by a stopped process; not resent");
        let batch: EmailRow[];
        do {
          batch = await claimDueEmails(this.#db, { now: this.#clock.now(), limit: BATCH });
          for (const email of batch) await this.#send(email);
        } while (batch.length === BATCH && !this.#closed);
      } catch (error) {
        this.#logger?.error({ err: error }, "sending emails failed; tried again on the next wake");
      }
    } while (this.#again && !this.#closed);
  }

  async #send(email: EmailRow): Promise<void> {
    const rendered = renderEmail(email.facts, consoleLinks(this.#settings.publicUrl, email.org_id));
    try {
      await this.#transport.send({
        ...rendered,
        from: this.#settings.from,
        to: email.recipients,
        messageId: `<${email.id}.${email.org_id}@meterline>`,
      });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const retryAt =
        email.attempts < this.#settings.maxAttempts
          ? new Date(this.#clock.now().getTime() + backoffMs(email.attempts, this.#settings.retryBaseMs))
          : null;
      this.#logger?.warn(
        { email_id: email.id, org_id: email.org_id, attempts: email.attempts, err: message },
        retryAt ? "email not sent; tried again later" : "email not sent; attempts used up",
      );
      await markEmailFailed(this.#db, { email, error: message.slice(0, 500), retryAt });
      return;
    }
    await markEmailSent(this.#db, { email, transport: this.#transport.name, now: this.#clock.now() });
  }
}

/** 1st retry after `base`, then doubling, at most an hour. */
export function backoffMs(attempts: number, base: number): number {
  return Math.min(base * 2 ** Math.max(0, attempts - 1), 3_600_000);
}

const POLL_MS = 15_000;

/** The dispatcher, woken by every email any process queues, and every 15 s for retries. */
export async function startEmailDispatcher({
  db,
  transport,
  settings,
  clock,
  logger,
}: {
  db: Db;
  transport: MailTransport;
  settings: DispatchSettings;
  clock: Clock;
  logger?: Pick<Logger, "error" | "warn"> | undefined;
}): Promise<{ dispatcher: EmailDispatcher; stop: () => Promise<void> }> {
  const dispatcher = new EmailDispatcher({ db: db.kysely, transport, settings, clock, logger });
  const unlisten = await db.listen(EMAIL_QUEUED_CHANNEL, () => void dispatcher.wake());
  const timer = setInterval(() => void dispatcher.wake(), POLL_MS);
  timer.unref();
  void dispatcher.wake();
  return {
    dispatcher,
    stop: async () => {
      clearInterval(timer);
      await unlisten();
      await dispatcher.close();
    },
  };
}
