import { useEffect, useRef, useState } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import {
  type Advice,
  api,
  canReadBilling,
  type Email,
  type Metric,
  metrics,
  type PlanCost,
  type UsageView,
} from "../api.js";
import { amount, credits, day, metricNames } from "../format.js";
import { NoBilling } from "../NoBilling.js";
import type { OrgContext } from "../orgContext.js";

const actionNames: Record<string, string> = {
  serve_update: "Serving updates",
  upload_bundle: "Uploading bundles",
  build: "Builds",
};

export function Usage({ org }: { org: OrgContext }) {
  const [usage, setUsage] = useState<UsageView | null>(null);
  const [advice, setAdvice] = useState<Advice | null>(null);
  const [emails, setEmails] = useState<Email[]>([]);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!canReadBilling(org.role)) return;
    void Promise.all([
      api<UsageView>("GET", `/v1/orgs/${org.id}/usage?include=daily,entitlements`),
      api<Advice>("GET", `/v1/orgs/${org.id}/advisor`),
      api<{ items: Email[] }>("GET", `/v1/orgs/${org.id}/emails?limit=10`),
    ]).then(
      ([view, advised, sent]) => {
        setUsage(view);
        setAdvice(advised);
        setEmails(sent.items);
      },
      (caught: Error) => setError(caught.message),
    );
  }, [org]);

  if (!canReadBilling(org.role)) return <NoBilling org={org} />;
  if (!usage) return <p className="loading">{error ?? "Loading usage…"}</p>;

  return (
    <section aria-labelledby="usage-title">
      <h1 id="usage-title">Usage</h1>
      <p>
        This cycle: {day(usage.cycle.start)} – {day(usage.cycle.end)}
        {usage.plan
          ? `, on ${usage.plan.charAt(0).toUpperCase()}${usage.plan.slice(1)}`
          : ", with no plan (all usage paid from credits)"}
        .
      </p>

      <h2>Entitlements</h2>
      <ul className="entitlements">
        {Object.entries(usage.entitlements).map(([action, entitlement]) => (
          <li key={action} className={entitlement.allowed ? "allowed" : "blocked"}>
            <strong>{actionNames[action] ?? action}:</strong> {entitlement.allowed ? "allowed" : "blocked"}
            {!entitlement.allowed && (
              <>
                {" "}
                — {entitlement.reason?.replaceAll("_", " ")}. <em>{entitlement.fix}</em>
              </>
            )}
          </li>
        ))}
      </ul>

      {advice && <AdviceSection advice={advice} org={org} />}

      <h2>This cycle</h2>
      <div className="metrics">
        {metrics.map((metric) => (
          <MetricCard key={metric} metric={metric} usage={usage} />
        ))}
      </div>

      <h2>Emails</h2>
      {emails.length === 0 ? (
        <p>No emails sent this far.</p>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Date</th>
                <th scope="col">Subject</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {emails.map((email) => (
                <tr key={email.id}>
                  <td>{day(email.sent_at ?? email.created_at)}</td>
                  <td>{email.subject}</td>
                  <td>{email.status}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

const intervalNames = { month: "monthly", year: "yearly" } as const;

/** The advisor's answer: every plan priced for this cycle's projected usage, and the one to choose. */
function AdviceSection({ advice, org }: { advice: Advice; org: OrgContext }) {
  const { recommended, current } = advice;
  const isCurrent = (option: PlanCost) =>
    current !== null && option.plan === current.plan && option.interval === current.interval;
  const isRecommended = (option: PlanCost) =>
    option.plan === recommended.plan && option.interval === recommended.interval;
  return (
    <section aria-labelledby="advice-title" className="advice">
      <h2 id="advice-title">Cheapest way to pay</h2>
      <p className="recommendation">
        <strong>
          Recommended: {recommended.name}, billed {intervalNames[recommended.interval]}
        </strong>
        {advice.spike && <span className="tag">spike: credits</span>}
        {recommended.saving_percent > 0 && <span className="badge">−{recommended.saving_percent}%</span>}
      </p>
      <p>{recommended.reason}</p>
      <div className="table-wrap">
        <table>
          <caption>For this cycle's projected usage, per month</caption>
          <thead>
            <tr>
              <th scope="col">Plan</th>
              <th scope="col">Billed</th>
              <th scope="col">Plan price</th>
              <th scope="col">Overage credits</th>
              <th scope="col">Total</th>
            </tr>
          </thead>
          <tbody>
            {advice.options.map((option) => (
              <tr
                key={`${option.plan}-${option.interval}`}
                className={isRecommended(option) ? "recommended" : undefined}
                aria-current={isCurrent(option) ? "true" : undefined}
              >
                <th scope="row">
                  {option.name}
                  {isCurrent(option) && (
                    <>
                      {" "}
                      <span className="tag">{current?.trial ? "trial" : "current"}</span>
                    </>
                  )}
                </th>
                <td>{intervalNames[option.interval]}</td>
                <td className="number">${option.base_usd}</td>
                <td className="number">{credits(option.overage_credits)}</td>
                <td className="number">${option.total_usd}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p className="hint">
        Advice only: your plan never changes by itself. <a href={`/plans?org=${org.id}`}>See plans</a>
      </p>
    </section>
  );
}

/** How a forecast was made, in a few words after its figure. */
function forecastBasis(forecast: UsageView["metrics"][Metric]["forecast"], unit: string): string {
  const rate = amount(forecast.daily_rate ?? 0);
  switch (forecast.method) {
    case "new_devices":
      return `${rate} new devices a day lately`;
    case "recent_rate":
      return `${rate} ${unit} a day lately`;
    case "cycle_average":
      return "at the rate so far";
    case "seen_so_far":
      return "too early for a daily rate";
    case "storage_held":
      return "today's storage kept";
  }
}

/** Units as a person reads them next to a number. */
const unitNames: Record<string, string> = { minute: "minutes" };

function MetricCard({ metric, usage }: { metric: Metric; usage: UsageView }) {
  const figures = { ...usage.metrics[metric] };
  figures.unit = unitNames[figures.unit] ?? figures.unit;
  const percent = figures.percent;
  const forecast = figures.forecast;
  return (
    <article className="card" aria-labelledby={`metric-${metric}`}>
      <h3 id={`metric-${metric}`}>{metricNames[metric]}</h3>
      <p>
        {amount(figures.used)} of {amount(figures.included)} {figures.unit}
        {percent !== null && ` (${percent}%)`}
      </p>
      <progress
        max={100}
        value={Math.min(percent ?? (figures.used > 0 ? 100 : 0), 100)}
        aria-label={`${metricNames[metric]} used`}
        className={percent !== null && percent >= 90 ? "high" : ""}
      />
      {figures.overage > 0 && (
        <p>
          Overage {amount(figures.overage)} {figures.unit}: {credits(figures.overage_cost)} credits
        </p>
      )}
      <p className="hint">
        Forecast: {amount(forecast.at_cycle_end)} {figures.unit} by the cycle's end (
        {forecastBasis(forecast, figures.unit)})
        {forecast.quota_reached_on ? `; the quota is reached on ${day(forecast.quota_reached_on)}` : ""}.
      </p>
      <DailyChart series={usage.daily[metric]} cycle={usage.cycle} label={metricNames[metric]} />
    </article>
  );
}

/** Each day of the cycle up to today, with its value (0 for a day without usage). */
function cycleDays(series: UsageView["daily"][Metric], cycle: UsageView["cycle"]): [number[], number[]] {
  const values = new Map(series.days.map((point) => [point.day, point.value]));
  const xs: number[] = [];
  const ys: number[] = [];
  const last = Math.min(Date.parse(cycle.end), Date.now());
  for (let at = Date.parse(cycle.start); at < last; at += 86_400_000) {
    xs.push(at / 1000);
    ys.push(values.get(new Date(at).toISOString().slice(0, 10)) ?? 0);
  }
  return [xs, ys];
}

function DailyChart({
  series,
  cycle,
  label,
}: {
  series: UsageView["daily"][Metric];
  cycle: UsageView["cycle"];
  label: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const [xs, ys] = cycleDays(series, cycle);
    const chart = new uPlot(
      {
        width: Math.max(element.clientWidth, 240),
        height: 140,
        legend: { show: false },
        // The whole cycle, however few of its days have passed.
        scales: { x: { time: true, range: [Date.parse(cycle.start) / 1000, Date.parse(cycle.end) / 1000] } },
        axes: [{}, { size: 50 }],
        series: [{}, { label: `${label} (${series.unit})`, stroke: "#3355cc", fill: "rgba(51,85,204,0.15)" }],
      },
      [xs, ys],
      element,
    );
    return () => chart.destroy();
  }, [series, cycle, label]);
  return <div ref={box} className="chart" role="img" aria-label={`${label} per day this cycle`} />;
}
