import { readCard } from "./cards.js";
import { payCheckoutSession } from "./checkout.js";
import type { Context } from "./context.js";
import { BUSINESS_NAME, formatAmount, productNameOf } from "./objects.js";
import { type Params, StripeApiError } from "./params.js";
import type { Reply, Route } from "./server.js";
import type { Card, CheckoutSessionRecord, SubscriptionRecord } from "./store.js";
import { cancelSubscription, requestCancelAtPeriodEnd } from "./subscriptions.js";
import { taxOn } from "./tax.js";
import { EU_STANDARD_VAT_BASIS_POINTS } from "./vatRates.js";

/**
 * The hosted pages a person sees: Checkout (pay or subscribe) and the customer portal. Plain
 * HTML with inline style and one small script, no external assets; usable by keyboard and on a
 * phone.
 */

const OTHER_COUNTRIES = ["US", "GB", "CA", "AU", "CH", "NO", "JP", "IN", "BR", "SG", "NZ", "MX"];

const regionNames = new Intl.DisplayNames(["en"], { type: "region" });

function countryOptions(): { code: string; name: string }[] {
  return [...Object.keys(EU_STANDARD_VAT_BASIS_POINTS), ...OTHER_COUNTRIES]
    .map((code) => ({ code, name: regionNames.of(code) ?? code }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

function date(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(0, 10);
}

const STYLE = `
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a1f36;background:#f6f8fa}
main{max-width:30rem;margin:0 auto;padding:1.5rem 1rem 3rem}
.business{font-weight:700;font-size:1.1rem;margin:0 0 .25rem}
h1{font-size:1.5rem;margin:0 0 1.25rem}
h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
.card{background:#fff;border:1px solid #d8dee4;border-radius:.5rem;padding:1rem;margin-bottom:1rem}
ul.items{list-style:none;margin:0;padding:0}
ul.items li{display:flex;flex-wrap:wrap;justify-content:space-between;gap:.25rem .75rem;padding:.5rem 0;border-bottom:1px solid #eef1f4}
.name{font-weight:600}
.muted{color:#57606a;font-size:.9rem}
dl.totals{margin:.5rem 0 0}
dl.totals div{display:flex;justify-content:space-between;padding:.2rem 0}
dl.totals dt,dl.totals dd{margin:0}
dl.totals .grand{font-weight:700;font-size:1.1rem;border-top:1px solid #d8dee4;margin-top:.25rem;padding-top:.5rem}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}
input,select{width:100%;font:inherit;padding:.6rem .7rem;border:1px solid #8c959f;border-radius:.375rem;background:#fff}
input[type=number]{width:6rem}
input:focus,select:focus,button:focus,a:focus{outline:3px solid #0969da;outline-offset:2px}
fieldset{border:0;padding:0;margin:1rem 0 0}
legend{font-weight:700;padding:0}
.row{display:flex;gap:.75rem}.row>div{flex:1}
button{width:100%;margin-top:1.25rem;padding:.8rem;font:inherit;font-weight:700;color:#fff;background:#0969da;border:0;border-radius:.375rem;cursor:pointer}
button.secondary{width:auto;margin-top:.5rem;padding:.5rem .9rem;background:#fff;color:#cf222e;border:1px solid #cf222e}
.error{color:#a40e26;background:#ffebe9;border:1px solid #ff8182;border-radius:.375rem;padding:.6rem .75rem}
.notice{background:#fff8c5;border:1px solid #d4a72c;border-radius:.375rem;padding:.6rem .75rem}
table{width:100%;border-collapse:collapse;font-size:.95rem}
th,td{text-align:left;padding:.4rem .25rem;border-bottom:1px solid #eef1f4}
a{color:#0969da}
`;

function page({ title, body, script = "" }: { title: string; body: string; script?: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · ${BUSINESS_NAME}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<p class="business">${BUSINESS_NAME}</p>
${body}
</main>
${script ? `<script>${script}</script>` : ""}
</body>
</html>`;
}

function html(body: string, status = 200): Reply {
  return { kind: "html", status, body };
}

function message({
  title,
  text,
  link,
}: {
  title: string;
  text: string;
  link?: { href: string; label: string };
}): Reply {
  const back = link ? `<p><a href="${escapeHtml(link.href)}">${escapeHtml(link.label)}</a></p>` : "";
  return html(page({ title, body: `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p>${back}` }));
}

interface FormState {
  email: string;
  country: string;
  cardNumber: string;
  cardExpiry: string;
  quantities: Record<string, number>;
  error: string | null;
}

/** Keeps the totals current as quantities and country change; the server computes the charge. */
const CHECKOUT_SCRIPT = `
(function(){
  var form=document.getElementById('pay');
  var data=JSON.parse(document.getElementById('pricing').textContent);
  function fmt(c){var s=c<0?'-':'';c=Math.abs(c);var r=String(c%100);return s+Math.floor(c/100)+'.'+(r.length<2?'0'+r:r)+' '+data.currency;}
  function update(){
    var subtotal=0,tax=0,country=form.country.value,bp=data.automaticTax?(data.rates[country]||0):0;
    data.items.forEach(function(item){
      var input=document.getElementById('quantity-'+item.index);
      var q=input?parseInt(input.value,10):item.quantity;
      if(!(q>=0))q=0;
      var amount=item.unitAmount*q;
      subtotal+=amount;tax+=Math.floor((amount*bp+5000)/10000);
      document.getElementById('line-'+item.index).textContent=fmt(amount);
    });
    document.getElementById('subtotal').textContent=fmt(subtotal);
    var taxCell=document.getElementById('tax');
    if(taxCell)taxCell.textContent=country?fmt(tax):'Select your country';
    document.getElementById('total').textContent=fmt(subtotal+tax);
  }
  form.addEventListener('input',update);
  update();
})();`;

function checkoutPage({
  context,
  session,
  state,
}: {
  context: Context;
  session: CheckoutSessionRecord;
  state: FormState;
}): string {
  const { store } = context;
  const customer = session.customer ? store.customers.get(session.customer) : undefined;
  const fixedEmail = session.customerEmail ?? customer?.email ?? null;
  const currency = session.currency.toUpperCase();
  const items = session.lineItems.map((item, index) => {
    const price = store.prices.require(item.price);
    const quantity = state.quantities[item.id] ?? item.quantity;
    const per = price.interval ? ` / ${price.interval}` : "";
    const unit = formatAmount({ amount: price.unitAmount, currency: price.currency });
    const quantityField = item.adjustable
      ? `<div><label for="quantity-${index}">Quantity</label><input type="number" id="quantity-${index}" name="quantity[${escapeHtml(item.id)}]" min="${item.adjustable.minimum}" max="${item.adjustable.maximum}" step="1" value="${quantity}" required></div>`
      : `<span class="muted">Qty ${quantity}</span>`;
    return {
      html: `<li><div><div class="name">${escapeHtml(productNameOf(store, price.id))}</div><div class="muted">${unit}${per}${item.adjustable || quantity > 1 ? " each" : ""}</div></div>${quantityField}<div id="line-${index}" aria-live="polite">${formatAmount({ amount: price.unitAmount * quantity, currency: price.currency })}</div></li>`,
      pricing: { index, unitAmount: price.unitAmount, quantity },
      amount: price.unitAmount * quantity,
    };
  });
  const subtotal = items.reduce((sum, item) => sum + item.amount, 0);
  // Per line, as the charge computes it; the script redoes this as the form changes.
  const tax = session.automaticTax
    ? items.reduce((sum, item) => sum + taxOn({ amount: item.amount, country: state.country }), 0)
    : 0;
  const taxRow = session.automaticTax
    ? `<div><dt>Tax</dt><dd id="tax">${state.country ? formatAmount({ amount: tax, currency }) : "Select your country"}</dd></div>`
    : "";
  const pricing = JSON.stringify({
    currency,
    automaticTax: session.automaticTax,
    rates: EU_STANDARD_VAT_BASIS_POINTS,
    items: items.map((item) => item.pricing),
  }).replace(/</g, "\\u003c");
  const countries = countryOptions()
    .map(
      ({ code, name }) =>
        `<option value="${code}"${code === state.country ? " selected" : ""}>${escapeHtml(name)}</option>`,
    )
    .join("");
  const error = state.error ? `<p class="error" role="alert">${escapeHtml(state.error)}</p>` : "";
  const cancel = session.cancelUrl
    ? `<p><a href="${escapeHtml(session.cancelUrl)}">Cancel and return</a></p>`
    : "";
  const heading = session.mode === "subscription" ? "Subscribe" : "Pay";
  const body = `
<h1>${heading}</h1>
<section class="card" aria-labelledby="summary-heading">
<h2 id="summary-heading">Order summary</h2>
<ul class="items">${items.map((item) => item.html).join("")}</ul>
<dl class="totals">
<div><dt>Subtotal</dt><dd id="subtotal">${formatAmount({ amount: subtotal, currency })}</dd></div>
${taxRow}
<div class="grand"><dt>Total due today</dt><dd id="total" aria-live="polite">${formatAmount({ amount: subtotal + tax, currency })}</dd></div>
</dl>
</section>
<form id="pay" class="card" method="post" action="/checkout/${escapeHtml(session.id)}">
${error}
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="email" required value="${escapeHtml(fixedEmail ?? state.email)}"${fixedEmail ? " readonly" : ""}>
<label for="country">Country</label>
<select id="country" name="country" autocomplete="country" required><option value="">Select…</option>${countries}</select>
<fieldset>
<legend>Card information</legend>
<label for="card-number">Card number</label>
<input id="card-number" name="card_number" inputmode="numeric" autocomplete="cc-number" placeholder="4242 4242 4242 4242" required value="${escapeHtml(state.cardNumber)}">
<div class="row">
<div><label for="card-expiry">Expiry (MM / YY)</label><input id="card-expiry" name="card_expiry" autocomplete="cc-exp" placeholder="12 / 34" required value="${escapeHtml(state.cardExpiry)}"></div>
<div><label for="card-cvc">CVC</label><input id="card-cvc" name="card_cvc" inputmode="numeric" autocomplete="cc-csc" placeholder="123" required></div>
</div>
</fieldset>
<button type="submit">Pay</button>
<p class="muted">Test mode: card 4242 4242 4242 4242 pays, 4000 0000 0000 0002 is declined.</p>
${cancel}
</form>
<script type="application/json" id="pricing">${pricing}</script>`;
  return page({ title: heading, body, script: CHECKOUT_SCRIPT });
}

function inactiveSession({ session }: { session: CheckoutSessionRecord }): Reply {
  if (session.status === "complete") {
    return message({
      title: "Already paid",
      text: "This checkout session is already complete: nothing more to pay.",
      ...(session.successUrl ? { link: { href: successUrl(session), label: "Continue" } } : {}),
    });
  }
  return message({
    title: "Session expired",
    text: "This checkout session has expired. Go back and start again.",
    ...(session.cancelUrl ? { link: { href: session.cancelUrl, label: "Go back" } } : {}),
  });
}

function successUrl(session: CheckoutSessionRecord): string {
  return (session.successUrl ?? "").replaceAll("{CHECKOUT_SESSION_ID}", session.id);
}

/** The typed card, or the message the page shows beside the form. */
function cardFromForm({ context, input }: { context: Context; input: Params }): Card | string {
  const expiry = /^\s*(\d{1,2})\s*\/\s*(\d{2}|\d{4})\s*$/.exec(input.string("card_expiry") ?? "");
  const month = Number(expiry?.[1]);
  const rawYear = Number(expiry?.[2]);
  const year = rawYear < 100 ? 2000 + rawYear : rawYear;
  if (!expiry || month < 1 || month > 12) return "Your card's expiration date is incomplete.";
  const now = new Date(context.now() * 1000);
  if (year < now.getUTCFullYear() || (year === now.getUTCFullYear() && month < now.getUTCMonth() + 1)) {
    return "Your card's expiration date is in the past.";
  }
  if (!/^\d{3,4}$/.test(input.string("card_cvc")?.trim() ?? ""))
    return "Your card's security code is incomplete.";
  try {
    return readCard({ number: input.string("card_number") ?? "", expMonth: month, expYear: year });
  } catch (error) {
    if (error instanceof StripeApiError) return error.message;
    throw error;
  }
}

function submittedState(input: Params, session: CheckoutSessionRecord): FormState {
  const quantityInput = input.object("quantity");
  const quantities: Record<string, number> = {};
  for (const item of session.lineItems) {
    const value = quantityInput?.string(item.id);
    if (value !== undefined) quantities[item.id] = /^\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
  }
  return {
    email: input.string("email")?.trim() ?? "",
    country: input.string("country")?.toUpperCase() ?? "",
    cardNumber: input.string("card_number") ?? "",
    cardExpiry: input.string("card_expiry") ?? "",
    quantities,
    error: null,
  };
}

function checkoutRoutes(): Route[] {
  return [
    {
      method: "GET",
      path: "/checkout/:id",
      params: null,
      handle: ({ context, path }) => {
        const session = context.store.checkoutSessions.get(path.id ?? "");
        if (!session) return message({ title: "Not found", text: "This checkout page does not exist." });
        if (session.status !== "open") return inactiveSession({ session });
        const customer = session.customer ? context.store.customers.get(session.customer) : undefined;
        const state: FormState = {
          email: "",
          country: customer?.address?.country ?? "",
          cardNumber: "",
          cardExpiry: "",
          quantities: {},
          error: null,
        };
        return html(checkoutPage({ context, session, state }));
      },
    },
    {
      method: "POST",
      path: "/checkout/:id",
      params: null,
      handle: ({ context, input, path }) => {
        const session = context.store.checkoutSessions.get(path.id ?? "");
        if (!session) return message({ title: "Not found", text: "This checkout page does not exist." });
        if (session.status !== "open") return inactiveSession({ session });
        const state = submittedState(input, session);
        const retry = (error: string, status: number) =>
          html(checkoutPage({ context, session, state: { ...state, error } }), status);
        if (!state.email && !session.customerEmail && !session.customer)
          return retry("Enter your email address.", 400);
        if (!/^[A-Z]{2}$/.test(state.country)) return retry("Select your country.", 400);
        const card = cardFromForm({ context, input });
        if (typeof card === "string") return retry(card, 402);
        try {
          payCheckoutSession({
            context,
            session,
            payment: {
              card,
              email: state.email || null,
              country: state.country,
              quantities: state.quantities,
              async: null,
            },
          });
        } catch (error) {
          if (error instanceof StripeApiError && error.status < 500)
            return retry(error.message, error.status);
          throw error;
        }
        if (session.successUrl) return { kind: "redirect", location: successUrl(session) };
        return message({ title: "Payment complete", text: "Thank you: your payment went through." });
      },
    },
  ];
}

function subscriptionSummary({
  context,
  subscription,
}: {
  context: Context;
  subscription: SubscriptionRecord;
}): string {
  const { store } = context;
  const names = subscription.items.map((item) => productNameOf(store, item.price)).join(", ");
  const amount = subscription.items.reduce(
    (sum, item) => sum + store.prices.require(item.price).unitAmount * item.quantity,
    0,
  );
  const interval = store.prices.require(subscription.items[0]?.price ?? "").interval ?? "month";
  const state =
    subscription.status === "canceled"
      ? `Ended on ${date(subscription.endedAt ?? subscription.periodEnd)}`
      : subscription.cancelAtPeriodEnd
        ? `Cancels on ${date(subscription.periodEnd)}`
        : `Renews on ${date(subscription.periodEnd)}`;
  return `<h3 class="name">${escapeHtml(names)}</h3>
<p>${formatAmount({ amount, currency: subscription.currency })} / ${interval}</p>
<p class="muted">Status: ${escapeHtml(subscription.status.replace("_", " "))} · ${state}</p>`;
}

function portalPage({ context, sessionId }: { context: Context; sessionId: string }): Reply {
  const { store } = context;
  const session = store.portalSessions.get(sessionId);
  if (!session) return message({ title: "Not found", text: "This billing page does not exist." });
  const customer = store.customers.require(session.customer);
  const configuration = session.configuration
    ? store.portalConfigurations.get(session.configuration)
    : undefined;
  const canCancel = configuration?.subscriptionCancel.enabled ?? true;
  const showInvoices = configuration?.invoiceHistory ?? true;
  const subscriptions = store.subscriptions
    .newestFirst()
    .filter((subscription) => subscription.customer === customer.id);
  const invoices = store.invoices.newestFirst().filter((invoice) => invoice.customer === customer.id);
  const action = (subscription: SubscriptionRecord, verb: "cancel" | "renew", label: string, style: string) =>
    `<form method="post" action="/billing_portal/${escapeHtml(session.id)}/subscriptions/${escapeHtml(subscription.id)}/${verb}"><button type="submit" class="${style}">${label}</button></form>`;
  const subscriptionCards = subscriptions
    .map((subscription) => {
      const button =
        subscription.status === "canceled"
          ? ""
          : subscription.cancelAtPeriodEnd
            ? action(subscription, "renew", "Keep subscription", "")
            : canCancel
              ? action(subscription, "cancel", "Cancel subscription", "secondary")
              : "";
      return `<div class="card">${subscriptionSummary({ context, subscription })}${button}</div>`;
    })
    .join("");
  const invoiceRows = invoices
    .map(
      (invoice) =>
        `<tr><td>${escapeHtml(invoice.number)}</td><td>${date(invoice.created)}</td><td>${formatAmount({ amount: invoice.total, currency: invoice.currency })}</td><td>${invoice.status}</td></tr>`,
    )
    .join("");
  const back = session.returnUrl
    ? `<p><a href="${escapeHtml(session.returnUrl)}">← Return to ${BUSINESS_NAME}</a></p>`
    : "";
  const body = `${back}
<h1>Billing</h1>
<p class="muted">${escapeHtml(customer.email ?? customer.id)}</p>
<h2>Subscriptions</h2>
${subscriptionCards || '<p class="muted">No subscriptions.</p>'}
${showInvoices ? "<h2>Invoices</h2>" : ""}
${!showInvoices ? "" : invoiceRows ? `<div class="card"><table><thead><tr><th scope="col">Number</th><th scope="col">Date</th><th scope="col">Amount</th><th scope="col">Status</th></tr></thead><tbody>${invoiceRows}</tbody></table></div>` : '<p class="muted">No invoices.</p>'}`;
  return html(page({ title: "Billing", body }));
}

function portalRoutes(): Route[] {
  const change = (verb: "cancel" | "renew"): Route => ({
    method: "POST",
    path: `/billing_portal/:id/subscriptions/:subscription/${verb}`,
    params: null,
    handle: ({ context, path }) => {
      const session = context.store.portalSessions.get(path.id ?? "");
      const subscription = context.store.subscriptions.get(path.subscription ?? "");
      if (!session || !subscription || subscription.customer !== session.customer) {
        return message({ title: "Not found", text: "This subscription is not on this billing page." });
      }
      const configuration = session.configuration
        ? context.store.portalConfigurations.get(session.configuration)
        : undefined;
      const cancelling = configuration?.subscriptionCancel ?? { enabled: true, mode: "at_period_end" };
      if (verb === "cancel" && !cancelling.enabled) {
        return message({ title: "Not allowed", text: "This billing page does not offer cancellation." });
      }
      if (verb === "cancel" && cancelling.mode === "immediately") {
        cancelSubscription({ context, subscription });
      } else {
        requestCancelAtPeriodEnd({ context, subscription, cancel: verb === "cancel" });
      }
      return { kind: "redirect", location: `/billing_portal/${session.id}` };
    },
  });
  return [
    {
      method: "GET",
      path: "/billing_portal/:id",
      params: null,
      handle: ({ context, path }) => portalPage({ context, sessionId: path.id ?? "" }),
    },
    change("cancel"),
    change("renew"),
  ];
}

export const pageRoutes: Route[] = [...checkoutRoutes(), ...portalRoutes()];
