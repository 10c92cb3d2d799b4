import type { Context } from "./context.js";
import { listReply, objectReply } from "./listing.js";
import type { StripeObject } from "./objects.js";
import { applyMetadata, invalidRequest, type Params } from "./params.js";
import type { Route } from "./server.js";
import { LIST, type Shape } from "./shapes.js";
import { newStripeId, type PortalConfigurationRecord } from "./store.js";

const CANCEL_REASONS = [
  "customer_service",
  "low_quality",
  "missing_features",
  "other",
  "switched_service",
  "too_complex",
  "too_expensive",
  "unused",
] as const;

const CONFIGURATION: Shape = {
  name: true,
  default_return_url: true,
  business_profile: { headline: true, privacy_policy_url: true, terms_of_service_url: true },
  features: {
    customer_update: { enabled: true, allowed_updates: [true] },
    invoice_history: { enabled: true },
    payment_method_update: { enabled: true },
    subscription_cancel: {
      enabled: true,
      mode: true,
      proration_behavior: true,
      cancellation_reason: { enabled: true, options: [true] },
    },
    subscription_update: { enabled: true },
  },
  metadata: "map",
};

/**
 * The customer portal's settings. Stripe refuses a portal session until one exists, and one made
 * through the API is never the default (only the Dashboard's is), so a session must name it.
 */
export function renderPortalConfiguration(configuration: PortalConfigurationRecord): StripeObject {
  return {
    id: configuration.id,
    object: "billing_portal.configuration",
    active: configuration.active,
    application: null,
    business_profile: {
      headline: configuration.businessProfile.headline,
      privacy_policy_url: configuration.businessProfile.privacyPolicyUrl,
      terms_of_service_url: configuration.businessProfile.termsOfServiceUrl,
    },
    created: configuration.created,
    default_return_url: configuration.defaultReturnUrl,
    features: {
      customer_update: {
        allowed_updates: configuration.customerUpdate.allowedUpdates,
        enabled: configuration.customerUpdate.enabled,
      },
      invoice_history: { enabled: configuration.invoiceHistory },
      payment_method_update: {
        enabled: configuration.paymentMethodUpdate,
        payment_method_configuration: null,
      },
      subscription_cancel: {
        cancellation_reason: { enabled: false, feedback_options: null, options: [] },
        enabled: configuration.subscriptionCancel.enabled,
        mode: configuration.subscriptionCancel.mode,
        proration_behavior: configuration.subscriptionCancel.prorationBehavior,
      },
      subscription_pause: { duration: { interval_options: [], type: "indefinite" }, enabled: false },
      subscription_update: {
        billing_cycle_anchor: null,
        default_allowed_updates: [],
        enabled: false,
        products: [],
        proration_behavior: "none",
        schedule_at_period_end: { conditions: [] },
        trial_update_behavior: "end_trial",
      },
    },
    is_default: false,
    livemode: false,
    login_page: { enabled: false, url: null },
    metadata: configuration.metadata,
    name: configuration.name,
    updated: configuration.updated,
  };
}

/** Applies the given settings onto `configuration`; what is not given stays. */
function applySettings({
  input,
  configuration,
}: {
  input: Params;
  configuration: PortalConfigurationRecord;
}) {
  const name = input.nullableString("name");
  if (name !== undefined) configuration.name = name;
  const returnUrl =
    input.has("default_return_url") && input.string("default_return_url") === ""
      ? null
      : input.url("default_return_url");
  if (returnUrl !== undefined) configuration.defaultReturnUrl = returnUrl;
  const profile = input.object("business_profile");
  if (profile) {
    const headline = profile.nullableString("headline");
    if (headline !== undefined) configuration.businessProfile.headline = headline;
    const privacy = profile.url("privacy_policy_url");
    if (privacy !== undefined) configuration.businessProfile.privacyPolicyUrl = privacy;
    const terms = profile.url("terms_of_service_url");
    if (terms !== undefined) configuration.businessProfile.termsOfServiceUrl = terms;
  }
  const features = input.object("features");
  const customerUpdate = features?.object("customer_update");
  if (customerUpdate) {
    configuration.customerUpdate = {
      enabled: customerUpdate.boolean("enabled") ?? configuration.customerUpdate.enabled,
      allowedUpdates: (
        customerUpdate.strings("allowed_updates") ?? configuration.customerUpdate.allowedUpdates
      ).map((update, index) => {
        if (!["address", "email", "name", "phone", "shipping", "tax_id"].includes(update)) {
          throw invalidRequest(
            `Invalid allowed update: ${update}`,
            `features[customer_update][allowed_updates][${index}]`,
          );
        }
        return update;
      }),
    };
  }
  const invoiceHistory = features?.object("invoice_history")?.boolean("enabled");
  if (invoiceHistory !== undefined) configuration.invoiceHistory = invoiceHistory;
  const paymentMethodUpdate = features?.object("payment_method_update")?.boolean("enabled");
  if (paymentMethodUpdate !== undefined) configuration.paymentMethodUpdate = paymentMethodUpdate;
  if (features?.object("subscription_update")?.boolean("enabled")) {
    throw invalidRequest(
      "The emulator's portal changes no plans: subscription_update must stay disabled.",
      "features[subscription_update][enabled]",
    );
  }
  const cancel = features?.object("subscription_cancel");
  if (cancel) {
    const reason = cancel.object("cancellation_reason");
    if (reason?.boolean("enabled")) {
      throw invalidRequest("The emulator's portal asks no cancellation reason.", reason.name("enabled"));
    }
    for (const option of reason?.strings("options") ?? []) {
      if (!(CANCEL_REASONS as readonly string[]).includes(option)) {
        throw invalidRequest(`Invalid cancellation reason: ${option}`, reason?.name("options"));
      }
    }
    configuration.subscriptionCancel = {
      enabled: cancel.boolean("enabled") ?? configuration.subscriptionCancel.enabled,
      mode:
        cancel.enumOf("mode", ["at_period_end", "immediately"] as const) ??
        configuration.subscriptionCancel.mode,
      prorationBehavior:
        cancel.enumOf("proration_behavior", ["always_invoice", "create_prorations", "none"] as const) ??
        configuration.subscriptionCancel.prorationBehavior,
    };
  }
  configuration.metadata = applyMetadata({ current: configuration.metadata, update: input.metadataUpdate() });
}

function requireFeatureFlags(input: Params): void {
  const features = input.object("features");
  if (!features) throw invalidRequest("Missing required param: features.", "features", "parameter_missing");
  for (const feature of [
    "customer_update",
    "invoice_history",
    "payment_method_update",
    "subscription_cancel",
  ]) {
    const settings = features.object(feature);
    if (settings && settings.boolean("enabled") === undefined) {
      throw invalidRequest(
        `Missing required param: features[${feature}][enabled].`,
        `features[${feature}][enabled]`,
        "parameter_missing",
      );
    }
  }
}

function emitConfiguration({
  context,
  type,
  configuration,
}: {
  context: Context;
  type: string;
  configuration: PortalConfigurationRecord;
}): StripeObject {
  const object = renderPortalConfiguration(configuration);
  context.emit({ type, object });
  return object;
}

export const portalConfigurationRoutes: Route[] = [
  {
    method: "POST",
    path: "/v1/billing_portal/configurations",
    params: CONFIGURATION,
    handle: ({ context, input }) => {
      requireFeatureFlags(input);
      const now = context.now();
      const configuration: PortalConfigurationRecord = {
        id: newStripeId("bpc_"),
        created: now,
        updated: now,
        active: true,
        name: null,
        defaultReturnUrl: null,
        businessProfile: { headline: null, privacyPolicyUrl: null, termsOfServiceUrl: null },
        customerUpdate: { enabled: false, allowedUpdates: [] },
        invoiceHistory: false,
        paymentMethodUpdate: false,
        subscriptionCancel: { enabled: false, mode: "at_period_end", prorationBehavior: "none" },
        metadata: {},
      };
      applySettings({ input, configuration });
      context.store.portalConfigurations.insert(configuration);
      const object = emitConfiguration({
        context,
        type: "billing_portal.configuration.created",
        configuration,
      });
      return objectReply({ context, input, object });
    },
  },
  {
    method: "POST",
    path: "/v1/billing_portal/configurations/:id",
    params: { ...CONFIGURATION, active: true },
    handle: ({ context, input, path }) => {
      const configuration = context.store.portalConfigurations.require(path.id ?? "");
      applySettings({ input, configuration });
      const active = input.boolean("active");
      if (active !== undefined) configuration.active = active;
      configuration.updated = context.now();
      const object = emitConfiguration({
        context,
        type: "billing_portal.configuration.updated",
        configuration,
      });
      return objectReply({ context, input, object });
    },
  },
  {
    method: "GET",
    path: "/v1/billing_portal/configurations/:id",
    params: {},
    handle: ({ context, input, path }) =>
      objectReply({
        context,
        input,
        object: renderPortalConfiguration(context.store.portalConfigurations.require(path.id ?? "")),
      }),
  },
  {
    method: "GET",
    path: "/v1/billing_portal/configurations",
    params: { ...LIST, active: true, is_default: true },
    handle: ({ context, input }) => {
      const active = input.boolean("active");
      const isDefault = input.boolean("is_default");
      return listReply({
        context,
        input,
        records: context.store.portalConfigurations
          .newestFirst()
          .filter(
            (configuration) =>
              (active === undefined || configuration.active === active) && isDefault !== true,
          ),
        render: renderPortalConfiguration,
        url: "/v1/billing_portal/configurations",
      });
    },
  },
];

/**
 * The configuration a portal session uses: the one named, which must be active, else the
 * default, which the emulator never has (it has no Dashboard): Stripe's 400 either way.
 */
export function portalConfigurationFor({
  context,
  input,
}: {
  context: Context;
  input: Params;
}): PortalConfigurationRecord {
  const id = input.string("configuration");
  if (!id) {
    throw invalidRequest(
      "No default customer portal configuration exists. Create one with POST /v1/billing_portal/configurations and pass its id as `configuration`.",
    );
  }
  const configuration = context.store.portalConfigurations.require(id, "configuration");
  if (!configuration.active) {
    throw invalidRequest(`The portal configuration ${id} is not active.`, "configuration");
  }
  return configuration;
}
