import Stripe from "stripe";
import { AppError } from "../domain/errors.js";

/**
 * Stripe out of reach (network, timeouts, its own 5xx, rate limits) is a 503 the caller may
 * retry; a declined card is the customer's to fix. Any other refusal means Meterline asked
 * wrongly or is misconfigured (a bad key, a deleted customer): a 500, logged, never blamed on the
 * caller.
 */
export async function reach<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof Stripe.errors.StripeError)) throw error;
    if (
      error instanceof Stripe.errors.StripeConnectionError ||
      error instanceof Stripe.errors.StripeAPIError ||
      error instanceof Stripe.errors.StripeRateLimitError
    ) {
      throw new AppError("unavailable", "Stripe could not be reached; try again");
    }
    if (error instanceof Stripe.errors.StripeCardError) {
      throw new AppError("payment_failed", `The payment failed: ${error.message}`);
    }
    throw new Error(
      `Stripe refused a request (${error.type}, ${error.code ?? "no code"}): ${error.message}`,
      {
        cause: error,
      },
    );
  }
}
