import { useCallback, useEffect, useState } from "react";
import type { Navigate } from "../address.js";
import {
  ApiError,
  api,
  type CreditFigures,
  canReadBilling,
  canWriteBilling,
  type Entry,
  type Estimate,
  metrics,
  type Pricing,
} from "../api.js";
import { amount, credits, day, metricNames, money } from "../format.js";
import { Messages } from "../Messages.js";
import { NoBilling } from "../NoBilling.js";
import type { OrgContext } from "../orgContext.js";

const presets = [50, 100, 500, 5000];
const MAX_CREDITS = 100_000;

export function Credits({ org, url, navigate }: { org: OrgContext; url: URL; navigate: Navigate }) {
  const [figures, setFigures] = useState<CreditFigures | null>(null);
  const [entries, setEntries] = useState<Entry[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const base = `/v1/orgs/${org.id}/credits`;

  const load = useCallback(async () => {
    const [current, page] = await Promise.all([
      api<CreditFigures>("GET", base),
      api<{ items: Entry[]; next_cursor: string | null }>("GET", `${base}/transactions?limit=20`),
    ]);
    setFigures(current);
    setEntries(page.items);
    setCursor(page.next_cursor);
  }, [base]);

  useEffect(() => {
    if (canReadBilling(org.role)) void load().catch((caught: Error) => setError(caught.message));
  }, [org.role, load]);

  // Back from Checkout: the purchase is granted once, whether this or Stripe's webhook comes first.
  const sessionId = url.searchParams.get("session_id");
  const checkout = url.searchParams.get("checkout");
  useEffect(() => {
    if (checkout === "canceled") setMessage("Checkout canceled: nothing was charged.");
    if (checkout !== "success" || !sessionId) return;
    let stopped = false;
    void (async () => {
      for (let attempt = 0; attempt < 20 && !stopped; attempt++) {
        try {
          const done = await api<{ credits: string }>("POST", `${base}/complete`, { session_id: sessionId });
          setMessage(`Payment received: ${credits(done.credits)} credits added.`);
          await load();
          navigate(`/credits?org=${encodeURIComponent(org.id)}`);
          return;
        } catch (caught) {
          if (!(caught instanceof ApiError && caught.code === "payment_pending")) {
            setError(caught instanceof Error ? caught.message : String(caught));
            return;
          }
          setMessage("Payment received; waiting for Stripe to confirm it…");
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
    })();
    return () => {
      stopped = true;
    };
  }, [checkout, sessionId, base, load, navigate, org.id]);

  if (!canReadBilling(org.role)) return <NoBilling org={org} />;
  if (!figures) return <p className="loading">{error ?? "Loading credits…"}</p>;

  const older = async () => {
    if (!cursor) return;
    const page = await api<{ items: Entry[]; next_cursor: string | null }>(
      "GET",
      `${base}/transactions?limit=20&cursor=${encodeURIComponent(cursor)}`,
    );
    setEntries((shown) => [...shown, ...page.items]);
    setCursor(page.next_cursor);
  };

  return (
    <section aria-labelledby="credits-title">
      <h1 id="credits-title">Credits</h1>
      <Messages message={message} error={error} />
      <p>
        1 credit = 1 USD. Usage beyond your plan's quotas is paid from credits automatically, as it happens;
        credits bought last 12 months.
      </p>
      <dl className="figures">
        <div>
          <dt>Available</dt>
          <dd data-testid="available">
            {credits(figures.available)} <small>of {credits(figures.total)}</small>
          </dd>
        </div>
        <div>
          <dt>Next expiry</dt>
          <dd>{figures.next_expiry ? day(figures.next_expiry) : "—"}</dd>
        </div>
        <div>
          <dt>Used this cycle</dt>
          <dd>
            {credits(figures.used_this_cycle)} <small>(${figures.used_this_cycle_usd})</small>
          </dd>
        </div>
      </dl>

      {canWriteBilling(org.role) ? (
        <BuyCredits orgId={org.id} onError={setError} />
      ) : (
        <p className="hint">Only owners and billing admins can buy credits.</p>
      )}

      <PricingDetails orgId={org.id} />

      <h2>Transactions</h2>
      <p>
        <a href={`${base}/transactions.csv`} download>
          Export CSV
        </a>
      </p>
      {entries.length === 0 ? (
        <p>No transactions yet.</p>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Date</th>
                <th scope="col">Type</th>
                <th scope="col">Amount</th>
                <th scope="col">Balance after</th>
                <th scope="col">Metric</th>
                <th scope="col">Quantity</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((entry) => (
                <tr key={entry.id}>
                  <td>{day(entry.occurred_at)}</td>
                  <td>{entry.type}</td>
                  <td className="number">{credits(entry.amount)}</td>
                  <td className="number">{credits(entry.balance_after)}</td>
                  <td>{entry.metric ?? ""}</td>
                  <td className="number">{entry.quantity ? amount(Number(entry.quantity)) : ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {cursor && (
        <button type="button" className="secondary" onClick={() => void older()}>
          Older transactions
        </button>
      )}
    </section>
  );
}

function BuyCredits({ orgId, onError }: { orgId: string; onError: (message: string) => void }) {
  const [choice, setChoice] = useState<number | "custom">(100);
  const [custom, setCustom] = useState("");
  const [estimate, setEstimate] = useState<Estimate | null>(null);
  const [busy, setBusy] = useState(false);
  const wanted = choice === "custom" ? Number(custom) : choice;
  const valid = Number.isInteger(wanted) && wanted >= 1 && wanted <= MAX_CREDITS;

  useEffect(() => {
    if (!valid) {
      setEstimate(null);
      return;
    }
    let current = true;
    const timer = setTimeout(() => {
      void api<Estimate>("GET", `/v1/orgs/${orgId}/credits/estimate?amount=${wanted}`).then(
        (value) => current && setEstimate(value),
        () => current && setEstimate(null),
      );
    }, 150);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [orgId, wanted, valid]);

  const buy = async () => {
    setBusy(true);
    try {
      const session = await api<{ checkout_url: string }>("POST", `/v1/orgs/${orgId}/checkout/credits`, {
        amount: wanted,
      });
      window.location.assign(session.checkout_url);
    } catch (caught) {
      onError(caught instanceof Error ? caught.message : String(caught));
      setBusy(false);
    }
  };

  return (
    <section className="buy" aria-labelledby="buy-title">
      <h2 id="buy-title">Need more credits?</h2>
      <fieldset className="presets">
        <legend className="visually-hidden">Amount</legend>
        {presets.map((preset) => (
          <button
            key={preset}
            type="button"
            aria-pressed={choice === preset}
            onClick={() => setChoice(preset)}
          >
            ${amount(preset)}
          </button>
        ))}
      </fieldset>
      <label>
        Custom amount
        <input
          type="number"
          inputMode="numeric"
          min={1}
          max={MAX_CREDITS}
          step={1}
          value={custom}
          onChange={(event) => {
            setCustom(event.target.value);
            setChoice("custom");
          }}
          aria-describedby="amount-help"
        />
      </label>
      <p id="amount-help" className="hint">
        Whole credits from 1 to {amount(MAX_CREDITS)}.
      </p>
      {!valid && choice === "custom" && custom !== "" && (
        <p className="error" role="alert">
          Enter a whole number of credits from 1 to {amount(MAX_CREDITS)}.
        </p>
      )}
      {estimate && valid && (
        <p className="estimate" aria-live="polite">
          {amount(estimate.credits)} credits: {money(estimate.subtotal_cents)}
          {estimate.tax_cents > 0
            ? ` + ${money(estimate.tax_cents)} tax (${estimate.country} ${estimate.tax_rate_percent}%)`
            : ""}{" "}
          = <strong>Total {money(estimate.total_cents)}</strong>
        </p>
      )}
      <button type="button" disabled={!valid || busy} onClick={() => void buy()}>
        Buy credits
      </button>
    </section>
  );
}

function PricingDetails({ orgId }: { orgId: string }) {
  const [pricing, setPricing] = useState<Pricing | null>(null);
  return (
    <details
      onToggle={(event) => {
        if ((event.target as HTMLDetailsElement).open && !pricing) {
          void api<Pricing>("GET", `/v1/orgs/${orgId}/credits/pricing`).then(setPricing);
        }
      }}
    >
      <summary>Credit pricing</summary>
      <p>Each tier prices only its own slice of the overage; rates fall as usage grows.</p>
      {pricing ? (
        metrics.map((metric) => (
          <table key={metric} className="tiers">
            <caption>
              {metricNames[metric]} (per {pricing[metric].unit})
            </caption>
            <thead>
              <tr>
                <th scope="col">Overage</th>
                <th scope="col">Credits each</th>
              </tr>
            </thead>
            <tbody>
              {pricing[metric].tiers.map((tier, index) => {
                const from = index === 0 ? 0 : (pricing[metric].tiers[index - 1]?.up_to ?? 0);
                return (
                  <tr key={tier.up_to ?? "rest"}>
                    <td>
                      {tier.up_to === null
                        ? `above ${amount(from)}`
                        : `${amount(from)} – ${amount(tier.up_to)}`}
                    </td>
                    <td className="number">{tier.price.replace(/0+$/, "").replace(/\.$/, "")}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        ))
      ) : (
        <p>Loading…</p>
      )}
    </details>
  );
}
