/**
 * Two builds of mqraft side by side on this machine: alternating rounds, each on a fresh 3-broker cluster, so that
 * the load other processes put on the machine falls on both alike. Each round runs, against the cluster,
 *   pipelined publish: 200,000 x 128 B, window 1,000     (msgs/s, p50, p99)
 *   large publish:      20,000 x 10 KB, window 200        (msgs/s, p50, p99)
 *   synchronous publish: 3,000 x 128 B, window 1          (p50, p99)
 * and the three brokers' CPU time (utime + stime from /proc), the steadier figure when the machine is shared.
 *   bun bench/binary-compare.ts OLD_BINARY NEW_BINARY [rounds] [scale]
 * Build the old binary from an older commit in a scratch folder (git archive <commit> | tar -x; make build there).
 */
import { readFileSync } from "node:fs";
import { TestCluster } from "../test/support/cluster.ts";

const [oldBin, newBin, roundsArg, scaleArg] = process.argv.slice(2);
if (oldBin === undefined || newBin === undefined) {
  console.error("usage: bun bench/binary-compare.ts OLD_BINARY NEW_BINARY [rounds] [scale]");
  process.exit(2);
}
const rounds = Number(roundsArg ?? 5);
const scale = Number(scaleArg ?? 1);

interface Workload {
  name: string;
  args: string[];
}
const workloads: Workload[] = [
  { name: "pipelined 128 B", args: ["--msgs", String(200_000 * scale), "--size", "128", "--window", "1000"] },
  { name: "large 10 KB", args: ["--msgs", String(20_000 * scale), "--size", "10000", "--window", "200"] },
  { name: "synchronous 128 B", args: ["--msgs", String(3_000 * scale), "--size", "128", "--window", "1"] },
];

interface Figures {
  msgsPerSec: number;
  p50ms: number;
  p99ms: number;
}
type Row = Record<string, Figures> & { cpu?: never };
const results = new Map<string, { rows: Row[]; cpu: number[] }>([
  [oldBin, { rows: [], cpu: [] }],
  [newBin, { rows: [], cpu: [] }],
]);

/** Runs `binary` with `args` to completion; its stdout. */
async function run(binary: string, args: string[], env: Record<string, string>): Promise<string> {
  const proc = Bun.spawn([binary, ...args], { stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 300_000);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${binary} ${args.join(" ")} exited ${code}: ${stderr}`);
  return stdout;
}

/** Seconds of CPU a process used so far (utime + stime). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function round(binary: string): Promise<void> {
  const cluster = await TestCluster.create({ nodes: 3, binary });
  try {
    await cluster.waitForLeader();
    const pids = [1, 2, 3].map((id) => cluster.broker(id).proc?.pid as number);
    const cpuBefore = pids.reduce((n, pid) => n + cpuSeconds(pid), 0);
    const row: Row = {} as Row;
    for (const w of workloads) {
      const out = await run(binary, ["bench", "pub", `t-${w.name.split(" ")[0]}`, ...w.args, "--json"], {
        MQRAFT_SERVER: cluster.addresses.join(","),
      });
      row[w.name] = JSON.parse(out.trim().split("\n").at(-1) as string) as Figures;
    }
    const entry = results.get(binary) as { rows: Row[]; cpu: number[] };
    entry.rows.push(row);
    entry.cpu.push(pids.reduce((n, pid) => n + cpuSeconds(pid), 0) - cpuBefore);
    const summary = workloads
      .map((w) => {
        const f = row[w.name] as Figures;
        return `${w.name}: ${f.msgsPerSec.toFixed(0)}/s p50 ${f.p50ms.toFixed(2)} p99 ${f.p99ms.toFixed(2)}`;
      })
      .join(" | ");
    console.log(`${binary === oldBin ? "old" : "new"}  ${summary} | brokers' CPU ${entry.cpu.at(-1)?.toFixed(2)} s`);
  } finally {
    await cluster.destroy();
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

for (let i = 0; i < rounds; i++) {
  // alternate which goes first, so that neither always runs right after the other's leftovers
  const order = i % 2 === 0 ? [oldBin, newBin] : [newBin, oldBin];
  for (const binary of order) await round(binary);
}

console.log(`\nmedians over ${rounds} rounds (new / old):`);
const o = results.get(oldBin) as { rows: Row[]; cpu: number[] };
const n = results.get(newBin) as { rows: Row[]; cpu: number[] };
for (const w of workloads) {
  for (const key of ["msgsPerSec", "p50ms", "p99ms"] as const) {
    if (w.name.startsWith("synchronous") && key === "msgsPerSec") continue;
    const a = median(o.rows.map((r) => (r[w.name] as Figures)[key]));
    const b = median(n.rows.map((r) => (r[w.name] as Figures)[key]));
    console.log(
      `  ${w.name.padEnd(18)} ${key.padEnd(10)} old ${a.toFixed(2).padStart(9)}  new ${b.toFixed(2).padStart(9)}  ${(b / a).toFixed(3)}x`,
    );
  }
}
const ca = median(o.cpu);
const cb = median(n.cpu);
console.log(
  `  brokers' CPU per round     old ${ca.toFixed(2).padStart(9)}  new ${cb.toFixed(2).padStart(9)}  ${(cb / ca).toFixed(3)}x`,
);
