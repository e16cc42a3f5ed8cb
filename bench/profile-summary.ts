/**
 * Where a process's CPU time went, from a .cpuprofile (`bun --cpu-prof ...`): self time per function and per file.
 *   bun bench/profile-summary.ts FILE.cpuprofile [top]
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
}

const [file, topArg] = process.argv.slice(2);
if (file === undefined) {
  console.error("usage: bun bench/profile-summary.ts FILE.cpuprofile [top]");
  process.exit(2);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const perFunction = new Map<string, number>();
const perFile = new Map<string, number>();
let total = 0;
// samples, not timeDeltas: the profiler records no idle samples, so a delta after a wait would charge the wait to
// whatever ran next
for (const id of profile.samples) {
  const us = 1;
  const frame = byId.get(id)?.callFrame;
  const where = frame?.url.replace(/^.*\/(src|cmd|node_modules)\//, "$1/") || "(native)";
  const name = `${frame?.functionName || "(anonymous)"} ${where}:${(frame?.lineNumber ?? 0) + 1}`;
  perFunction.set(name, (perFunction.get(name) ?? 0) + us);
  perFile.set(where, (perFile.get(where) ?? 0) + us);
  total += us;
}
const show = (title: string, m: Map<string, number>): void => {
  console.log(`\n${title} (of ${total} samples)`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`);
  }
};
show("self time per function", perFunction);
show("self time per file", perFile);
