import { useCallback, useEffect, useRef, useState } from "react";
import type { Navigate } from "../address.js";
import {
  api,
  type Catalog,
  canReadBilling,
  canWriteBilling,
  type Metric,
  type Plan,
  type Standing,
} from "../api.js";
import { amount, credits, day, money, overageUnits } from "../format.js";
import { Messages } from "../Messages.js";
import { NoBilling } from "../NoBilling.js";
import type { OrgContext } from "../orgContext.js";

type Interval = "month" | "year";

const quotaLines: { metric: Metric; text: (plan: Plan) => string }[] = [
  { metric: "mau", text: (plan) => `${amount(plan.quotas.mau)} monthly active users` },
  { metric: "storage", text: (plan) => `${amount(plan.quotas.storage_gib)} GiB storage` },
  { metric: "bandwidth", text: (plan) => `${amount(plan.quotas.bandwidth_gib)} GiB bandwidth` },
  { metric: "build_minutes", text: (plan) => `${amount(plan.quotas.build_minutes)} build minutes` },
];

export function Plans({ org, url, navigate }: { org: OrgContext; url: URL; navigate: Navigate }) {
  const [catalog, setCatalog] = useState<Catalog | null>(null);
  const [standing, setStanding] = useState<Standing | null>(null);
  const [interval, setInterval] = useState<Interval>("month");
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const contact = useRef<HTMLDialogElement>(null);
  const writer = canWriteBilling(org.role);
  const checkout = url.searchParams.get("checkout");

  const loadStanding = useCallback(
    () =>
      api<Standing>("GET", `/v1/orgs/${org.id}/subscription`).then((value) => {
        setStanding(value);
        return value;
      }),
    [org.id],
  );

  useEffect(() => {
    if (!canReadBilling(org.role)) return;
    void Promise.all([api<Catalog>("GET", "/v1/plans"), loadStanding()]).then(
      ([plans, current]) => {
        setCatalog(plans);
        if (current.interval) setInterval(current.interval);
      },
      (caught: Error) => setError(caught.message),
    );
  }, [org.role, loadStanding]);

  // Back from Checkout: Stripe confirms the payment to Meterline within seconds.
  useEffect(() => {
    if (checkout === "canceled")
      setMessage("Checkout canceled: nothing was charged and your plan is unchanged.");
    if (checkout !== "success") return;
    setMessage("Payment received. Your plan is active as soon as Stripe confirms it, within seconds.");
    let stopped = false;
    void (async () => {
      for (let attempt = 0; attempt < 20 && !stopped; attempt++) {
        const current = await loadStanding();
        if (current.source === "subscription") {
          const billed = current.interval === "year" ? "yearly" : "monthly";
          setMessage(`Payment received. Your subscription is active, billed ${billed}.`);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    })();
    return () => {
      stopped = true;
    };
  }, [checkout, loadStanding]);

  if (!canReadBilling(org.role)) return <NoBilling org={org} />;
  if (!catalog || !standing) return <p className="loading">{error ?? "Loading plans…"}</p>;

  const subscribed = standing.source === "subscription";
  const nameOf = (id: string | null) => catalog.plans.find((plan) => plan.id === id)?.name ?? id ?? "";
  const isCurrent = (plan: Plan) =>
    standing.plan === plan.id && (!subscribed || standing.interval === interval);

  const choose = async (plan: Plan) => {
    setBusy(plan.id);
    setError(null);
    try {
      if (!subscribed) {
        const session = await api<{ checkout_url: string }>(
          "POST",
          `/v1/orgs/${org.id}/checkout/subscription`,
          {
            plan: plan.id,
            interval,
          },
        );
        window.location.assign(session.checkout_url);
        return;
      }
      const billed = interval === "year" ? "yearly" : "monthly";
      if (
        !window.confirm(
          `Change to ${plan.name}, billed ${billed}? The difference is prorated and charged now.`,
        )
      )
        return;
      await api("POST", `/v1/orgs/${org.id}/subscription/change`, { plan: plan.id, interval });
      await loadStanding();
      setMessage(`Your plan is now ${plan.name} (${billed}).`);
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : String(caught));
    } finally {
      setBusy(null);
    }
  };

  const firstTier = (metric: Metric) => catalog.credit_tiers[metric].tiers[0]?.price ?? "0";

  return (
    <section aria-labelledby="plans-title">
      <h1 id="plans-title">Plans</h1>
      <Messages message={message} error={error} />
      <p>
        {standing.source === "trial"
          ? `${org.name} is on a free trial of ${nameOf(standing.plan)} until ${day(standing.trial_ends_at)}.`
          : subscribed
            ? `${org.name} is on ${nameOf(standing.plan)}, billed ${standing.interval === "year" ? "yearly" : "monthly"} (${standing.status})${standing.cancel_at_period_end && standing.current_period_end ? `, ending ${day(standing.current_period_end)}` : ""}.`
            : `${org.name} has no plan: all usage is paid from credits.`}{" "}
        Your plan never changes by itself: only you subscribe, change or cancel it.
      </p>
      {!writer && <p className="hint">Only owners and billing admins can change the plan.</p>}

      <fieldset className="toggle">
        <legend className="visually-hidden">Billing interval</legend>
        <button type="button" aria-pressed={interval === "month"} onClick={() => setInterval("month")}>
          Monthly
        </button>
        <button type="button" aria-pressed={interval === "year"} onClick={() => setInterval("year")}>
          Annual <span className="badge">−20%</span>
        </button>
      </fieldset>

      <div className="cards">
        {catalog.plans.map((plan) => (
          <article
            key={plan.id}
            className={isCurrent(plan) ? "card current" : "card"}
            aria-labelledby={`plan-${plan.id}`}
          >
            <h2 id={`plan-${plan.id}`}>
              {plan.name}{" "}
              {isCurrent(plan) && <span className="tag">{subscribed ? "Current plan" : "Trial"}</span>}
            </h2>
            {interval === "month" ? (
              <p className="price">
                <strong>{money(plan.monthly.price_cents)}</strong> / month
              </p>
            ) : (
              <p className="price">
                <strong>{money(plan.annual.monthly_equivalent_cents)}</strong> / month
                <br />
                <small>billed {money(plan.annual.price_cents)} yearly</small>
              </p>
            )}
            <ul className="quotas">
              {quotaLines.map(({ metric, text }) => (
                <li key={metric}>
                  {text(plan)}
                  <small>
                    then {credits(firstTier(metric))} credits per {overageUnits[metric]}
                  </small>
                </li>
              ))}
            </ul>
            <ul className="features">
              {plan.features.map((feature) => (
                <li key={feature}>{feature}</li>
              ))}
            </ul>
            {writer && (
              <button
                type="button"
                disabled={busy !== null || (subscribed && isCurrent(plan))}
                onClick={() => void choose(plan)}
              >
                {subscribed ? (isCurrent(plan) ? "Current plan" : "Change plan") : "Subscribe"}
              </button>
            )}
          </article>
        ))}
      </div>

      <p>
        Rather pay as you go, or covering a spike?{" "}
        <a
          href={`/credits?org=${encodeURIComponent(org.id)}`}
          onClick={(event) => {
            event.preventDefault();
            navigate(`/credits?org=${encodeURIComponent(org.id)}`);
          }}
        >
          Learn about credits
        </a>
      </p>
      <p>
        Need a custom plan?{" "}
        <button type="button" className="link" onClick={() => contact.current?.showModal()}>
          Contact us
        </button>
      </p>
      <p>
        <a href="/refund-policy">Refund policy</a>
      </p>
      <ContactSales
        orgId={org.id}
        dialog={contact}
        onSent={() => setMessage("Thanks: our team will write to you soon.")}
      />
    </section>
  );
}

function ContactSales({
  orgId,
  dialog,
  onSent,
}: {
  orgId: string;
  dialog: React.RefObject<HTMLDialogElement | null>;
  onSent: () => void;
}) {
  const [error, setError] = useState<string | null>(null);
  return (
    <dialog ref={dialog} aria-labelledby="contact-title">
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          const form = new FormData(event.currentTarget);
          try {
            await api("POST", `/v1/orgs/${orgId}/contact-sales`, { message: form.get("message") });
            dialog.current?.close();
            onSent();
          } catch (caught) {
            setError(caught instanceof Error ? caught.message : String(caught));
          }
        }}
      >
        <h2 id="contact-title">Ask for a custom plan</h2>
        <label>
          Message
          <textarea name="message" rows={5} required placeholder="Your usage, the features you need…" />
        </label>
        <Messages error={error} />
        <div className="actions">
          <button type="button" className="secondary" onClick={() => dialog.current?.close()}>
            Cancel
          </button>
          <button type="submit">Send</button>
        </div>
      </form>
    </dialog>
  );
}
