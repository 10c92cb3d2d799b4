import type { Database } from "../src/config.js";

/**
 * What the benchmark's server process answers over IPC. The server runs in a process of its
 * own, as in production, so the load generator's work is not counted as the server's; work that
 * needs the server's database (PGlite lives in its memory) runs there too.
 */
export interface ServerMethods {
  /** Opens and migrates the database and listens on a free port of 127.0.0.1. */
  start(params: { database: Database; logLevel: string }): Promise<{ url: string }>;
  /**
   * A user owning `orgs` organizations, a platform `usage:write` key, and `checkKeys`
   * `entitlements:read` keys of the first organization.
   */
  seed(params: {
    orgs: number;
    checkKeys: number;
  }): Promise<{ orgIds: string[]; usageKey: string; checkKeys: string[] }>;
  /**
   * The raw baseline, in two steps so building the rows is not measured: the workload's rows
   * (with their payload hashes) kept in this process, then inserted into usage_events by
   * Kysely, 1,000 per statement, `inFlight` statements at a time; answers the seconds taken.
   */
  prepareRaw(params: { runId: string; batches: number; orgIds: string[] }): Promise<void>;
  rawInsert(params: { inFlight: number }): Promise<number>;
  /**
   * This process's memory after a full collection (`buffers`: the Buffers outside the heap, where
   * request bodies wait), and the connections its server holds.
   */
  memory(
    params: Record<string, never>,
  ): Promise<{ rss: number; heapUsed: number; buffers: number; connections: number }>;
  /** CPU seconds (user + system) this process has used so far. */
  cpuSeconds(params: Record<string, never>): Promise<number>;
  /** Starts sampling the CPU; `profileStop` writes the profile to `file`. */
  profileStart(params: Record<string, never>): Promise<void>;
  profileStop(params: { file: string }): Promise<void>;
  /** Closes everything; the process exits after answering. */
  stop(params: Record<string, never>): Promise<void>;
}

export type MethodName = keyof ServerMethods;

export interface CallMessage {
  id: number;
  method: MethodName;
  params: unknown;
}

export type ReplyMessage =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: string };
