import { type ChildProcess, fork } from "node:child_process";
import type { Database } from "../src/config.js";
import type { CallMessage, MethodName, ReplyMessage, ServerMethods } from "./serverProtocol.js";

type Params<M extends MethodName> = Parameters<ServerMethods[M]>[0];
type Result<M extends MethodName> = Awaited<ReturnType<ServerMethods[M]>>;

/** The runner's handle on a server process: its address and its IPC methods. */
export interface BenchServer {
  url: URL;
  call<M extends MethodName>(method: M, params: Params<M>): Promise<Result<M>>;
}

/**
 * Forks bench/server.ts (through the same tsx loader as this process, plus `nodeFlags`), starts
 * Meterline there on `database`, runs `work`, and stops it whatever happens; a server that does
 * not stop in time is killed, so a failed part never leaves it running.
 */
export async function withBenchServer<T>({
  database,
  logLevel,
  nodeFlags,
  work,
}: {
  database: Database;
  logLevel: string;
  nodeFlags: string[];
  work: (server: BenchServer) => Promise<T>;
}): Promise<T> {
  const child = fork(new URL("./server.ts", import.meta.url), {
    execArgv: [...process.execArgv, ...nodeFlags],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const call = caller(child);
  try {
    const { url } = await call("start", { database, logLevel });
    return await work({ url: new URL(url), call });
  } finally {
    await stopChild({ child, call });
  }
}

function caller(child: ChildProcess): BenchServer["call"] {
  let nextId = 0;
  const waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  child.on("message", (message: ReplyMessage) => {
    const pending = waiting.get(message.id);
    waiting.delete(message.id);
    if (message.ok) pending?.resolve(message.result);
    else pending?.reject(new Error(`bench server: ${message.error}`));
  });
  child.on("exit", (code) => {
    for (const pending of waiting.values()) pending.reject(new Error(`bench server exited (${code})`));
    waiting.clear();
  });
  return <M extends MethodName>(method: M, params: Params<M>) =>
    new Promise<Result<M>>((resolve, reject) => {
      if (child.exitCode !== null) return reject(new Error("bench server is not running"));
      const id = nextId++;
      waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      const message: CallMessage = { id, method, params };
      child.send(message);
    });
}

async function stopChild({ child, call }: { child: ChildProcess; call: BenchServer["call"] }): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await call("stop", {}).catch(() => child.kill("SIGKILL"));
  await exited;
  clearTimeout(killer);
}
