import { createServer } from "node:net";

/**
 * Ports handed out here lie below the ranges systems give outgoing connections (Linux
 * 32768–60999, IANA and others 49152–65535): a port chosen before its server starts cannot be
 * taken meanwhile by one of this process's own connections (the database pool opens several
 * while a server starts).
 */
const FIRST = 20_000;
const LAST = 32_767;

/** A TCP port free right now on localhost, for when one is needed before the server that takes it starts. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = FIRST + Math.floor(Math.random() * (LAST - FIRST + 1));
    if (await isFree(port)) return port;
  }
  throw new Error(`no free port between ${FIRST} and ${LAST}`);
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}
