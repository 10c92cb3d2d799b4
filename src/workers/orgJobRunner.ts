import type { Logger } from "pino";

/**
 * Runs a job per organization in the background when told its data changed: one run at a time
 * per organization, at most every `minIntervalMs`, and once more after a run if more changes
 * came in meanwhile.
 */
export class OrgJobRunner {
  readonly #state = new Map<string, { again: boolean }>();
  readonly #job: (orgId: string) => Promise<unknown>;
  readonly #minIntervalMs: number;
  readonly #logger: Pick<Logger, "error"> | undefined;
  readonly #failure: string;
  #closed = false;

  constructor({
    job,
    minIntervalMs,
    logger,
    failure,
  }: {
    job: (orgId: string) => Promise<unknown>;
    minIntervalMs: number;
    logger?: Pick<Logger, "error"> | undefined;
    /** Logged with the error when a run fails; the next change runs it again. */
    failure: string;
  }) {
    this.#job = job;
    this.#minIntervalMs = minIntervalMs;
    this.#logger = logger;
    this.#failure = failure;
  }

  schedule(orgId: string): void {
    if (this.#closed) return;
    const state = this.#state.get(orgId);
    if (state) {
      state.again = true;
      return;
    }
    const fresh = { again: false };
    this.#state.set(orgId, fresh);
    void this.#run(orgId, fresh);
  }

  /** Resolves when nothing is running or pending (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#state.size > 0) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  close(): void {
    this.#closed = true;
  }

  async #run(orgId: string, state: { again: boolean }): Promise<void> {
    do {
      state.again = false;
      const started = Date.now();
      try {
        await this.#job(orgId);
      } catch (error) {
        this.#logger?.error({ err: error, org_id: orgId }, this.#failure);
      }
      if (state.again && !this.#closed) {
        const wait = this.#minIntervalMs - (Date.now() - started);
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
    } while (state.again && !this.#closed);
    this.#state.delete(orgId);
  }
}
