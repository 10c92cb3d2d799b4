import type { Logger } from "pino";
import type { Store } from "./store.js";

export const API_VERSION = "2026-10-28.endive";

/** The API request an event came from; both null for events of the emulator's own clock. */
export interface RequestInfo {
  id: string | null;
  idempotency_key: string | null;
}

export const NO_REQUEST: RequestInfo = { id: null, idempotency_key: null };

export interface EventInput {
  type: string;
  object: Record<string, unknown>;
  previousAttributes?: Record<string, unknown> | null;
  /** Emulator seconds; defaults to now. Renewals run by a clock advance carry their own time. */
  at?: number;
}

/** What every part of the emulator works with; one per request, so events name their request. */
export interface Context {
  store: Store;
  publicUrl: string;
  /** Emulator time in unix seconds: the base clock plus the advanced offset. */
  now(): number;
  emit(event: EventInput): void;
  request: RequestInfo;
  logger: Logger | undefined;
}

export type ContextFor = (request: RequestInfo) => Context;
