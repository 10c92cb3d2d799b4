import type { MetricUsage, RawUsage } from "./usage.js";
import { isOverQuota } from "./usage.js";
import type { Metric } from "./usageEvents.js";

export const actions = ["serve_update", "upload_bundle", "build"] as const;
export type Action = (typeof actions)[number];

export type DenialReason =
  | "no_active_plan"
  | "mau_quota_exceeded"
  | "bandwidth_quota_exceeded"
  | "storage_quota_exceeded"
  | "build_minutes_quota_exceeded";

export interface Entitlement {
  allowed: boolean;
  reason: DenialReason | null;
  fix: string | null;
}

/** Which metrics gate which action (SPEC §5). */
const gates: Record<Action, Metric[]> = {
  serve_update: ["mau", "bandwidth"],
  upload_bundle: ["storage"],
  build: ["build_minutes"],
};

const exceeded: Record<Metric, DenialReason> = {
  mau: "mau_quota_exceeded",
  bandwidth: "bandwidth_quota_exceeded",
  storage: "storage_quota_exceeded",
  build_minutes: "build_minutes_quota_exceeded",
};

const quotaNames: Record<Metric, string> = {
  mau: "monthly active users",
  bandwidth: "bandwidth",
  storage: "storage",
  build_minutes: "build minutes",
};

/**
 * What an organization may do now. Without a plan or trial, nothing unless it holds credits
 * (credits alone pay for all usage). With one, an action is blocked when a metric gating it is
 * over its quota and no credits are left to pay the overage; credits cover any overage.
 *
 * Example: a Solo trial with 2,001 MAU and no credits may not `serve_update`
 * (`mau_quota_exceeded`) but may still `upload_bundle`.
 */
export function decideEntitlements({
  hasPlan,
  usage,
  measured,
  creditsAvailableMicros,
}: {
  hasPlan: boolean;
  usage: RawUsage;
  measured: Record<Metric, MetricUsage>;
  creditsAvailableMicros: bigint;
}): Record<Action, Entitlement> {
  const hasCredits = creditsAvailableMicros > 0n;
  const decide = (action: Action): Entitlement => {
    if (hasCredits) return { allowed: true, reason: null, fix: null };
    if (!hasPlan) {
      return {
        allowed: false,
        reason: "no_active_plan",
        fix: "Subscribe to a plan, or buy credits to pay for usage as you go.",
      };
    }
    const over = gates[action].find((metric) => isOverQuota({ metric, measured: measured[metric], usage }));
    if (!over) return { allowed: true, reason: null, fix: null };
    return {
      allowed: false,
      reason: exceeded[over],
      fix: `Upgrade to a plan with more ${quotaNames[over]}, or buy credits to pay for the overage.`,
    };
  };
  return {
    serve_update: decide("serve_update"),
    upload_bundle: decide("upload_bundle"),
    build: decide("build"),
  };
}
