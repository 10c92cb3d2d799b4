import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { billingRoutes } from "./billingRoutes.js";
import { catalogRoutes } from "./catalogRoutes.js";
import { type Clock, systemClock } from "./clock.js";
import type { Context, EventInput, RequestInfo } from "./context.js";
import { controlRoutes } from "./controlRoutes.js";
import { pageRoutes } from "./pages.js";
import { portalConfigurationRoutes } from "./portalConfigurations.js";
import { createEmulatorServer, type LoggedRequest } from "./server.js";
import { loadStore, newStripeId, saveStore } from "./store.js";
import { DEFAULT_RETRY, WebhookDelivery } from "./webhookDelivery.js";

export type { Clock } from "./clock.js";
export { API_VERSION } from "./context.js";
export type { LoggedRequest } from "./server.js";
export { EU_STANDARD_VAT_BASIS_POINTS } from "./vatRates.js";
export { signWebhookPayload } from "./webhookSignature.js";

const MAX_LOGGED_REQUESTS = 2000;

export interface StripeEmulatorOptions {
  port: number; // 0 = any free port
  host?: string; // listen address, default "127.0.0.1"
  publicUrl?: string; // origin used in checkout/portal URLs; default `http://localhost:${actual port}`
  apiKey: string; // the only secret key accepted
  webhook: { url: string; secret: string } | null; // where signed events are POSTed
  clock?: Clock; // base time (default systemClock); /_emulator/clock/advance adds an offset on top
  dataFile?: string | null; // persist all state as JSON here (write to temp + rename after each change), load on start
  logger?: Logger;
  retry?: { attempts: number; initialDelayMs: number }; // webhook retries, default 8 attempts, 1000 ms doubling
}

export interface StripeEmulator {
  url: string; // e.g. http://localhost:12111
  port: number;
  close(): Promise<void>; // stops the server and pending deliveries
  /** Resolves when every event created so far has been delivered (2xx) or has exhausted its retries. */
  idle(): Promise<void>;
}

/**
 * A local server answering the part of Stripe's API Meterline uses, for the official SDK
 * (`new Stripe(apiKey, { host: "localhost", port, protocol: "http" })`), with hosted Checkout and
 * portal pages, signed webhooks and a movable clock.
 */
export async function startStripeEmulator(options: StripeEmulatorOptions): Promise<StripeEmulator> {
  const baseClock = options.clock ?? systemClock;
  const dataFile = options.dataFile ?? null;
  const logger = options.logger;
  const store = loadStore({ dataFile });
  const persist = () => {
    if (dataFile) saveStore({ store, dataFile });
  };
  const delivery = new WebhookDelivery({
    store,
    webhook: options.webhook,
    baseClock,
    retry: options.retry ?? DEFAULT_RETRY,
    logger,
    persist,
  });
  // Known once the server listens on its port.
  let publicUrl = options.publicUrl ?? "";
  const now = () => Math.floor(baseClock.now().getTime() / 1000) + store.clockOffsetSeconds;
  const publish = (event: EventInput, request: RequestInfo) => {
    const record = store.events.insert({
      id: newStripeId("evt_"),
      created: event.at ?? now(),
      type: event.type,
      object: event.object,
      previousAttributes: event.previousAttributes ?? null,
      request,
      deliveries: [],
      settled: !delivery.enabled,
    });
    delivery.enqueue(record.id);
  };
  const contextFor = (request: RequestInfo): Context => ({
    store,
    publicUrl,
    now,
    request,
    logger,
    emit: (event) => publish(event, request),
  });
  const settings = { latencyMs: 0 };
  const requests: LoggedRequest[] = [];
  const server = createEmulatorServer({
    routes: [
      ...catalogRoutes,
      ...billingRoutes,
      ...portalConfigurationRoutes,
      ...controlRoutes({ delivery, settings, requests }),
      ...pageRoutes,
    ],
    contextFor,
    store,
    apiKey: options.apiKey,
    baseClock,
    persist,
    logger,
    latencyMs: () => settings.latencyMs,
    record: (entry) => {
      requests.push(entry);
      // The latest ones: a log for tests and scripts, not an archive.
      if (requests.length > MAX_LOGGED_REQUESTS) requests.splice(0, requests.length - MAX_LOGGED_REQUESTS);
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://localhost:${port}`;
  publicUrl = options.publicUrl?.replace(/\/$/, "") ?? url;
  delivery.resume();
  logger?.info({ url, dataFile }, "stripe emulator listening");
  return {
    url,
    port,
    idle: () => delivery.idle(),
    close: async () => {
      delivery.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
