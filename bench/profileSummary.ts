/**
 * Summarizes a V8 CPU profile (from BENCH_PROFILE_DIR, or node --cpu-prof) in the terminal:
 * `npx tsx bench/profileSummary.ts <file.cpuprofile> [rows]`. Time by package or source file,
 * then the functions with the most self time and the most inclusive time.
 */
import { readFileSync } from "node:fs";
import { count, heading, table } from "./format.js";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where code lives: an npm package, a file of ours, Node itself, or V8's own pseudo-frames. */
function placeOf(url: string, functionName: string): string {
  if (!url) return `(${functionName || "native"})`.replace(/^\(\((.*)\)\)$/, "($1)");
  const pkg = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (pkg) return pkg[1] as string;
  const ours = url.match(/\/((?:src|bench)\/.*)$/);
  if (ours) return ours[1] as string;
  if (url.startsWith("node:")) return "node (internals)";
  return url;
}

function frameOf(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  return `${functionName || "(anonymous)"} ${placeOf(url, functionName)}:${lineNumber + 1}`;
}

/** Microseconds of samples landing in each node (its self time). */
function selfTimes(profile: CpuProfile): Map<number, number> {
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  return self;
}

/** Inclusive time per frame, each frame counted once per stack even when it recurses. */
function inclusiveTimes({ profile, self }: { profile: CpuProfile; self: Map<number, number> }) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const inclusive = new Map<string, number>();
  const totals = new Map<number, number>();
  const totalOf = (node: ProfileNode): number => {
    const known = totals.get(node.id);
    if (known !== undefined) return known;
    let sum = self.get(node.id) ?? 0;
    for (const child of node.children ?? []) sum += totalOf(byId.get(child) as ProfileNode);
    totals.set(node.id, sum);
    return sum;
  };
  const walk = (node: ProfileNode, onStack: Set<string>) => {
    const frame = frameOf(node);
    const first = !onStack.has(frame);
    if (first) inclusive.set(frame, (inclusive.get(frame) ?? 0) + totalOf(node));
    if (first) onStack.add(frame);
    for (const child of node.children ?? []) walk(byId.get(child) as ProfileNode, onStack);
    if (first) onStack.delete(frame);
  };
  const root = profile.nodes[0];
  if (root) walk(root, new Set());
  return inclusive;
}

function top({ values, rows, total }: { values: Map<string, number>; rows: number; total: number }) {
  return [...values]
    .sort((a, b) => b[1] - a[1])
    .slice(0, rows)
    .map(([name, micros]) => [`${((micros / total) * 100).toFixed(1)}%`, `${count(micros / 1000)} ms`, name]);
}

function summarize({ file, rows }: { file: string; rows: number }): void {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const self = selfTimes(profile);
  const total = [...self.values()].reduce((sum, value) => sum + value, 0);
  const byPlace = new Map<string, number>();
  const byFrame = new Map<string, number>();
  for (const node of profile.nodes) {
    const micros = self.get(node.id) ?? 0;
    const place = placeOf(node.callFrame.url, node.callFrame.functionName);
    byPlace.set(place, (byPlace.get(place) ?? 0) + micros);
    byFrame.set(frameOf(node), (byFrame.get(frameOf(node)) ?? 0) + micros);
  }
  console.log(`${file}: ${count(total / 1000)} ms sampled`);
  heading("self time by package or file");
  table(top({ values: byPlace, rows, total }));
  heading("self time by function");
  table(top({ values: byFrame, rows, total }));
  heading("inclusive time by function");
  table(top({ values: inclusiveTimes({ profile, self }), rows, total }));
}

const [file, rows] = process.argv.slice(2);
if (!file) throw new Error("usage: npx tsx bench/profileSummary.ts <file.cpuprofile> [rows]");
summarize({ file, rows: Number(rows ?? 25) });
