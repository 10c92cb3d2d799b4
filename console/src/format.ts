/** Cents as money: 3744 → "$37.44". */
export function money(cents: number): string {
  return `$${(cents / 100).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

/** The API's six-decimal credits with at least two decimals: "30.000000" → "30.00". */
export function credits(text: string): string {
  const [whole = "0", fraction = ""] = text.replace(/^-/, "").split(".");
  const kept = fraction.replace(/0+$/, "").padEnd(2, "0");
  return `${text.startsWith("-") ? "−" : ""}${Number(whole).toLocaleString("en-US")}.${kept}`;
}

export function amount(value: number): string {
  return value.toLocaleString("en-US", { maximumFractionDigits: 2 });
}

export function day(iso: string): string {
  return new Date(iso.length === 10 ? `${iso}T00:00:00Z` : iso).toLocaleDateString("en-GB", {
    day: "numeric",
    month: "short",
    year: "numeric",
    timeZone: "UTC",
  });
}

export const metricNames = {
  mau: "Monthly active users",
  storage: "Storage",
  bandwidth: "Bandwidth",
  build_minutes: "Build minutes",
} as const;

/** One unit of overage, as a plan card says it. */
export const overageUnits = {
  mau: "MAU",
  storage: "GiB",
  bandwidth: "GiB",
  build_minutes: "minute",
} as const;
