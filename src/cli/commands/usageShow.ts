import { parseArgs } from "node:util";
import { loadConfig } from "../../config.js";
import { migrate } from "../../db/migrate.js";
import { consoleLinks } from "../../domain/consoleLinks.js";
import { readableCredits } from "../../domain/money.js";
import { type Metric, metrics } from "../../domain/usageEvents.js";
import { adviceView, readAdvice } from "../../services/advisor/advisePlans.js";
import { type MetricSummary, summarizeUsage } from "../../services/usage/readUsage.js";
import { openCommandDatabase, UsageError } from "../command.js";

export async function showUsage(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: { json: { type: "boolean", default: false } },
    allowPositionals: true,
    strict: true,
  });
  const [orgId, ...extra] = positionals;
  if (!orgId) throw new UsageError("usage show needs an organization id");
  if (extra.length) throw new UsageError(`usage show takes one ORG; got ${positionals.join(" ")}`);
  const config = loadConfig();
  const db = await openCommandDatabase(
    config,
    (url) =>
      `Ask the server instead: GET ${url}/v1/orgs/${orgId}/usage and …/advisor as the organization's owner, billing admin or admin, or open ${consoleLinks(url, orgId).usage}.`,
  );
  try {
    await migrate({ db });
    const now = new Date();
    const advised = await readAdvice({ db: db.kysely, catalog: config.catalog, orgId, now });
    const { report } = advised.outlook;
    const advice = adviceView({ ...advised, catalog: config.catalog });
    const view = {
      org: orgId,
      ...summarizeUsage(advised.outlook),
      source: report.standing.source,
      status: report.standing.status,
      trial_ends_at: report.standing.trialEndsAt,
      advice: { recommended: advice.recommended, current: advice.current, spike: advice.spike },
    };
    if (values.json) {
      process.stdout.write(`${JSON.stringify(view, null, 2)}\n`);
      return;
    }
    const day = (at: Date) => at.toISOString().slice(0, 10);
    const plan =
      view.source === "trial"
        ? `${view.plan} trial until ${day(report.standing.trialEndsAt)}`
        : view.source === "subscription"
          ? `${view.plan}, ${view.status}`
          : "no plan (nothing included)";
    // Devices and started minutes come whole; their forecast is shown so too.
    const wholeUnits = new Set<Metric>(["mau", "build_minutes"]);
    const rows = [
      [
        "metric",
        "unit",
        "used / included",
        "percent",
        "overage",
        "overage cost (credits)",
        "forecast at cycle end",
      ],
      ...metrics.map((metric) => {
        const m: MetricSummary & { current_gib?: number } = view.metrics[metric];
        const reached = m.forecast.quota_reached_on
          ? `, quota reached ${day(m.forecast.quota_reached_on)}`
          : "";
        const current = m.current_gib !== undefined ? ` (${amount(m.current_gib)} GiB stored now)` : "";
        return [
          metric,
          m.unit,
          `${amount(m.used)} / ${amount(m.included)}`,
          m.percent === null ? "—" : `${m.percent.toFixed(1)}%`,
          amount(m.overage),
          readableCredits(m.overage_cost),
          `${wholeUnits.has(metric) ? amount(Math.round(m.forecast.at_cycle_end)) : amount(m.forecast.at_cycle_end)}${reached}${current}`,
        ];
      }),
    ];
    // Text columns align left, numbers right.
    const right = new Set([2, 3, 4, 5]);
    const widths =
      rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length))) ?? [];
    const table = rows.map((row) =>
      row
        .map((cell, column) => {
          const width = widths[column] ?? 0;
          return right.has(column) ? cell.padStart(width) : cell.padEnd(width);
        })
        .join("  ")
        .trimEnd(),
    );
    process.stdout.write(
      [
        `organization ${orgId}: ${plan}`,
        `cycle ${day(report.cycle.start)} → ${day(report.cycle.end)} (UTC), ${day(now)} today`,
        "",
        ...table,
        "",
        `advice: ${advice.recommended.name}, billed ${advice.recommended.interval === "year" ? "yearly" : "monthly"}. ${advice.recommended.reason}`,
        "",
      ].join("\n"),
    );
  } finally {
    await db.close();
  }
}

/** A quantity for the table: grouped, at most three decimals, "<0.001" rather than a false 0. */
function amount(value: number): string {
  if (value > 0 && value < 0.001) return "<0.001";
  return value.toLocaleString("en-US", { maximumFractionDigits: 3 });
}
