import type Stripe from "stripe";

export interface PortalConfigurationSync {
  id: string;
  action: "created" | "updated" | "unchanged";
}

/** Marks the configuration Meterline made, among any others of the account. */
const OWNER = { meterline: "portal" };

/**
 * What the console relies on the portal for: cancelling at the period's end (never at once: the
 * plan stays paid until then), updating the card, and the invoice history. Plan changes go through
 * Meterline, so the portal offers none.
 */
const FEATURES = {
  subscription_cancel: { enabled: true, mode: "at_period_end", proration_behavior: "none" },
  payment_method_update: { enabled: true },
  invoice_history: { enabled: true },
  customer_update: { enabled: false },
  subscription_update: { enabled: false },
} satisfies Stripe.BillingPortal.ConfigurationCreateParams.Features;

function upToDate(configuration: Stripe.BillingPortal.Configuration): boolean {
  const { features } = configuration;
  return (
    features.subscription_cancel.enabled &&
    features.subscription_cancel.mode === "at_period_end" &&
    features.subscription_cancel.proration_behavior === "none" &&
    features.payment_method_update.enabled &&
    features.invoice_history.enabled &&
    !features.customer_update.enabled &&
    !features.subscription_update.enabled
  );
}

/** The configuration each client's portal sessions name, found or made once per process. */
const inUse = new WeakMap<Stripe, Promise<string>>();

/**
 * The id of the configuration Meterline made, made or brought up to date on first need, so the
 * portal works even where `stripe sync` never ran.
 */
export function portalConfigurationFor(sdk: Stripe): Promise<string> {
  let id = inUse.get(sdk);
  if (!id) {
    id = upsertPortalConfiguration(sdk).then((synced) => synced.id);
    // A failure is not kept: the next session tries again.
    id.catch(() => inUse.delete(sdk));
    inUse.set(sdk, id);
  }
  return id;
}

/** Finds the active configuration Meterline made and brings its features up to date, or makes one. */
export async function upsertPortalConfiguration(sdk: Stripe): Promise<PortalConfigurationSync> {
  const synced = await findOrMake(sdk);
  inUse.set(sdk, Promise.resolve(synced.id));
  return synced;
}

async function findOrMake(sdk: Stripe): Promise<PortalConfigurationSync> {
  for await (const configuration of sdk.billingPortal.configurations.list({ active: true, limit: 100 })) {
    if (configuration.metadata?.meterline !== OWNER.meterline) continue;
    if (upToDate(configuration)) return { id: configuration.id, action: "unchanged" };
    await sdk.billingPortal.configurations.update(configuration.id, { features: FEATURES });
    return { id: configuration.id, action: "updated" };
  }
  const created = await sdk.billingPortal.configurations.create({
    name: "Meterline",
    features: FEATURES,
    metadata: OWNER,
  });
  return { id: created.id, action: "created" };
}
