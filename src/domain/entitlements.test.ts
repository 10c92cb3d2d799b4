import { describe, expect, it } from "vitest";
import { buildCatalog, findPlan } from "./catalog.js";
import { cycleContaining } from "./cycles.js";
import { decideEntitlements } from "./entitlements.js";
import { GIB, measureUsage, type RawUsage } from "./usage.js";

const catalog = buildCatalog();
const now = new Date("2026-11-11T00:00:00Z");
const cycle = cycleContaining({ at: now });
const none: RawUsage = {
  mauDevices: 0n,
  bandwidthBytes: 0n,
  buildSeconds: 0n,
  storageByteMs: 0n,
  storageCurrentBytes: 0n,
};

function decide({
  plan,
  usage = {},
  credits = 0n,
}: {
  plan: string | null;
  usage?: Partial<RawUsage>;
  credits?: bigint;
}) {
  const raw = { ...none, ...usage };
  const quotas = plan ? (findPlan(catalog, plan)?.quotas ?? null) : null;
  return decideEntitlements({
    hasPlan: plan !== null,
    usage: raw,
    measured: measureUsage({ usage: raw, quotas, cycle, tiers: catalog.creditTiers }),
    creditsAvailableMicros: credits,
  });
}

describe("decideEntitlements", () => {
  it.each([
    { name: "within every quota", plan: "solo", usage: {}, credits: 0n, denied: {} },
    {
      name: "MAU over, no credits",
      plan: "solo",
      usage: { mauDevices: 2_001n },
      credits: 0n,
      denied: { serve_update: "mau_quota_exceeded" },
    },
    { name: "MAU over, with credits", plan: "solo", usage: { mauDevices: 2_001n }, credits: 1n, denied: {} },
    {
      name: "bandwidth over",
      plan: "solo",
      usage: { bandwidthBytes: 14n * GIB },
      credits: 0n,
      denied: { serve_update: "bandwidth_quota_exceeded" },
    },
    {
      name: "storage over",
      plan: "solo",
      usage: { storageCurrentBytes: 2n * GIB },
      credits: 0n,
      denied: { upload_bundle: "storage_quota_exceeded" },
    },
    {
      name: "build minutes over",
      plan: "solo",
      usage: { buildSeconds: 3_601n },
      credits: 0n,
      denied: { build: "build_minutes_quota_exceeded" },
    },
    {
      name: "no plan, no credits",
      plan: null,
      usage: {},
      credits: 0n,
      denied: { serve_update: "no_active_plan", upload_bundle: "no_active_plan", build: "no_active_plan" },
    },
    {
      name: "no plan, credits pay for everything",
      plan: null,
      usage: { mauDevices: 5n },
      credits: 10n,
      denied: {},
    },
    {
      name: "a bigger plan holds what a smaller one does not",
      plan: "maker",
      usage: { mauDevices: 2_001n },
      credits: 0n,
      denied: {},
    },
  ])("$name", ({ plan, usage, credits, denied }) => {
    const decided = decide({ plan, usage, credits });
    for (const [action, entitlement] of Object.entries(decided)) {
      const reason = (denied as Record<string, string>)[action];
      expect(entitlement.allowed, action).toBe(reason === undefined);
      expect(entitlement.reason, action).toBe(reason ?? null);
      expect(entitlement.fix === null, action).toBe(reason === undefined);
    }
  });
});
