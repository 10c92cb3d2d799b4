/** The API, same origin: the session cookie goes along, and writes echo the CSRF cookie. */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function csrfToken(): string {
  const match = document.cookie.match(/(?:^|;\s*)meterline_csrf=([^;]+)/);
  return match?.[1] ? decodeURIComponent(match[1]) : "";
}

export async function api<T>(method: "GET" | "POST" | "PATCH", path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (method !== "GET") headers["x-csrf-token"] = csrfToken();
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const error = data?.error ?? {};
    throw new ApiError(response.status, error.code ?? "error", error.message ?? response.statusText);
  }
  return data as T;
}

export type Role = "owner" | "billing_admin" | "admin" | "member";

export interface Me {
  user: { id: string; email: string; name: string };
  orgs: { id: string; name: string; role: Role }[];
}

export interface Tier {
  up_to: number | null;
  price: string;
}

export interface Plan {
  id: string;
  name: string;
  monthly: { price_cents: number };
  annual: { price_cents: number; monthly_equivalent_cents: number; discount_percent: number };
  quotas: { mau: number; storage_gib: number; bandwidth_gib: number; build_minutes: number };
  features: string[];
}

/** Overage prices per metric: the catalog's, or an organization's own (`custom`). */
export type Pricing = Record<Metric, { unit: string; tiers: Tier[]; custom?: boolean }>;

export interface Catalog {
  currency: string;
  plans: Plan[];
  credit_tiers: Pricing;
}

export type Metric = "mau" | "storage" | "bandwidth" | "build_minutes";
export const metrics: Metric[] = ["mau", "storage", "bandwidth", "build_minutes"];

export interface Standing {
  source: "subscription" | "trial" | "none";
  plan: string | null;
  interval: "month" | "year" | null;
  status: string;
  current_period_end: string | null;
  cancel_at_period_end: boolean;
  trial_ends_at: string;
  grace_ends_at: string | null;
}

export interface CreditFigures {
  available: string;
  total: string;
  used_this_cycle: string;
  used_this_cycle_usd: string;
  next_expiry: string | null;
}

export interface Entry {
  id: string;
  type: string;
  amount: string;
  balance_after: string;
  metric: string | null;
  quantity: string | null;
  description: string;
  occurred_at: string;
}

export interface Estimate {
  credits: number;
  country: string | null;
  tax_rate_percent: number;
  subtotal_cents: number;
  tax_cents: number;
  total_cents: number;
}

export interface MetricUsage {
  unit: string;
  used: number;
  included: number;
  percent: number | null;
  overage: number;
  overage_cost: string;
  forecast: {
    at_cycle_end: number;
    quota_reached_on: string | null;
    method: "new_devices" | "recent_rate" | "cycle_average" | "seen_so_far" | "storage_held";
    daily_rate: number | null;
  };
}

export interface PlanCost {
  plan: string;
  name: string;
  interval: "month" | "year";
  base_usd: string;
  overage_credits: string;
  total_usd: string;
}

export interface Advice {
  current: (PlanCost & { trial: boolean }) | null;
  options: PlanCost[];
  recommended: {
    plan: string;
    name: string;
    interval: "month" | "year";
    reason: string;
    saving_percent: number;
  };
  spike: { metric: string; kind: "above_history" | "one_day"; day: string | null } | null;
}

export interface Entitlement {
  allowed: boolean;
  reason: string | null;
  fix: string | null;
}

export interface UsageView {
  cycle: { start: string; end: string };
  plan: string | null;
  metrics: Record<Metric, MetricUsage>;
  daily: Record<Metric, { unit: string; days: { day: string; value: number }[] }>;
  entitlements: Record<string, Entitlement>;
}

export interface Email {
  id: string;
  kind: string;
  subject: string;
  recipients: string[];
  status: string;
  created_at: string;
  sent_at: string | null;
}

/** Who may see and do billing in an organization (the server enforces the same). */
export const canReadBilling = (role: Role) => role !== "member";
export const canWriteBilling = (role: Role) => role === "owner" || role === "billing_admin";
