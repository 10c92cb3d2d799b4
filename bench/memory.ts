import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

// A full collection before each sample, so the figures show what is retained rather than when
// the collector last ran. Exposing gc at run time spares the run a node flag.
setFlagsFromString("--expose-gc");
const collect = runInNewContext("gc") as () => void;

export interface MemorySample {
  rss: number;
  heapUsed: number;
}

export function sampleMemory(): MemorySample {
  collect();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heapUsed };
}
