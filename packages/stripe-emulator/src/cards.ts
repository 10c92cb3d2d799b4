import { StripeApiError } from "./params.js";
import type { Card, PaymentError } from "./store.js";

/**
 * Stripe's test cards. Any Luhn-valid number pays, except the decline cards below; 0341 pays
 * when the customer is present (checkout) and is declined for every later, off-session charge.
 */
const DECLINES: Record<string, PaymentError> = {
  "4000000000000002": {
    code: "card_declined",
    declineCode: "generic_decline",
    message: "Your card was declined.",
  },
  "4000000000009995": {
    code: "card_declined",
    declineCode: "insufficient_funds",
    message: "Your card has insufficient funds.",
  },
  "4000000000009987": { code: "card_declined", declineCode: "lost_card", message: "Your card was declined." },
  "4000000000009979": {
    code: "card_declined",
    declineCode: "stolen_card",
    message: "Your card was declined.",
  },
  "4000000000000069": { code: "expired_card", declineCode: null, message: "Your card has expired." },
  "4000000000000127": {
    code: "incorrect_cvc",
    declineCode: null,
    message: "Your card's security code is incorrect.",
  },
  "4000000000000119": {
    code: "processing_error",
    declineCode: null,
    message: "An error occurred while processing your card. Try again in a little bit.",
  },
};

const DECLINED_OFF_SESSION = "4000000000000341";

export const DEFAULT_EXPIRY_YEARS = 5;

function luhnValid(digits: string): boolean {
  let sum = 0;
  for (const [index, char] of [...digits].reverse().entries()) {
    let digit = Number(char);
    if (index % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

function brandOf(digits: string): string {
  if (digits.startsWith("4")) return "visa";
  if (/^(5[1-5]|2[2-7])/.test(digits)) return "mastercard";
  if (/^3[47]/.test(digits)) return "amex";
  if (/^6(011|5)/.test(digits)) return "discover";
  return "unknown";
}

/** A typed card number (spaces allowed) as a card, or Stripe's 402 `incorrect_number`. */
export function readCard({
  number,
  expMonth,
  expYear,
}: {
  number: string;
  expMonth: number;
  expYear: number;
}): Card {
  const digits = number.replace(/[\s-]/g, "");
  if (!/^\d{12,19}$/.test(digits) || !luhnValid(digits)) {
    throw new StripeApiError({
      status: 402,
      type: "card_error",
      code: "incorrect_number",
      message: "Your card number is incorrect.",
      param: "number",
    });
  }
  return { number: digits, brand: brandOf(digits), last4: digits.slice(-4), expMonth, expYear };
}

/** Whether the card pays: `offSession` is a charge without the customer (renewals, prorations). */
export function declineFor({
  card,
  offSession,
}: {
  card: Card | null;
  offSession: boolean;
}): PaymentError | null {
  if (!card) {
    return {
      code: "payment_method_missing",
      declineCode: null,
      message: "The customer has no payment method.",
    };
  }
  const decline = DECLINES[card.number];
  if (decline) return decline;
  if (offSession && card.number === DECLINED_OFF_SESSION) {
    return { code: "card_declined", declineCode: "generic_decline", message: "Your card was declined." };
  }
  return null;
}

export function cardError(error: PaymentError): StripeApiError {
  return new StripeApiError({
    status: 402,
    type: "card_error",
    code: error.code,
    message: error.message,
    ...(error.declineCode ? { declineCode: error.declineCode } : {}),
  });
}
