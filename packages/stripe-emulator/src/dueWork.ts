import { expireCheckoutSession } from "./checkout.js";
import type { Context } from "./context.js";
import { endSubscription, renewSubscription, retryInvoice } from "./subscriptions.js";

interface DueAction {
  at: number;
  run(): void;
}

/** Far more than any clock advance needs; reaching it means an action did not move its own time on. */
const MAX_ACTIONS = 100_000;

/**
 * Runs everything whose time has come, oldest first, each at its own time: a clock advance of a
 * year renews a monthly subscription twelve times, in order, with the dates of each renewal.
 * Returns how many actions ran.
 */
export function runDueWork({ context }: { context: Context }): number {
  for (let count = 0; count < MAX_ACTIONS; count++) {
    const action = nextDueAction({ context, now: context.now() });
    if (!action) return count;
    action.run();
  }
  throw new Error("emulator due work does not converge");
}

function nextDueAction({ context, now }: { context: Context; now: number }): DueAction | null {
  const { store } = context;
  const due: DueAction[] = [];
  for (const session of store.checkoutSessions.all()) {
    if (session.status === "open" && session.expiresAt <= now) {
      due.push({
        at: session.expiresAt,
        run: () => expireCheckoutSession({ context, session, at: session.expiresAt }),
      });
    }
  }
  for (const subscription of store.subscriptions.all()) {
    if (subscription.status === "canceled") continue;
    const { cancelAt, periodEnd } = subscription;
    if (cancelAt !== null && cancelAt <= periodEnd) {
      if (cancelAt <= now)
        due.push({ at: cancelAt, run: () => endSubscription({ context, subscription, at: cancelAt }) });
    } else if (periodEnd <= now) {
      due.push({ at: periodEnd, run: () => renewSubscription({ context, subscription, at: periodEnd }) });
    }
  }
  for (const invoice of store.invoices.all()) {
    const retryAt = invoice.nextPaymentAttempt;
    if (invoice.status !== "open" || retryAt === null || retryAt > now) continue;
    const subscription = invoice.subscription ? store.subscriptions.get(invoice.subscription) : undefined;
    if (subscription && subscription.status !== "canceled") {
      due.push({ at: retryAt, run: () => retryInvoice({ context, invoice, at: retryAt }) });
    }
  }
  return due.reduce<DueAction | null>(
    (earliest, action) => (!earliest || action.at < earliest.at ? action : earliest),
    null,
  );
}
