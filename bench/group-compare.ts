/**
 * A consumer group against plain pipelined publish, side by side (issue 16's figure; not a test): each round starts
 * a fresh 3-broker cluster of the compiled binary (`mqraft up`) for each kind, the kinds alternating, and prints
 * msgs/s of `bench pub --window 1000 --clients 3` and of `bench e2e --group g --clients 3`, each round's ratio and
 * the median ratio, with the CPU time the brokers and the bench client spent (on a machine others share, CPU time
 * per message is the steadier figure: msgs/s follows the share of the cores the run gets), each process's too.
 *   make build && bun bench/group-compare.ts [rounds=5] [msgs=100000] [extra e2e flags, e.g. --max-pending 3000]
 */
import { readFileSync, rmSync } from "node:fs";
import * as v from "valibot";
import { BenchResultSchema } from "../cmd/bench-stats.ts";

/** The binary under test (BENCH_BINARY: another build, to compare two). */
const BINARY = process.env.BENCH_BINARY ?? "dist/mqraft";
const rounds = Number(process.argv[2] ?? 5);
const msgs = Number(process.argv[3] ?? 100_000);
const extra = process.argv.slice(4);
const BASE_PORT = 18_900;
const DATA = ".tmp/group-compare";

const KINDS = {
  pub: ["bench", "pub", "--window", "1000", "--clients", "3"],
  group: ["bench", "e2e", "--group", "g", "--clients", "3", ...extra],
} as const;
type Kind = keyof typeof KINDS;

interface Round {
  perSec: number;
  p50: number;
  /** CPU seconds of the three brokers and of the bench client during the run. */
  cpu: number;
  /** Of which each child of `mqraft up` (most first: the leader, the followers, the manager) and the client. */
  brokers: number[];
  client: number;
}

/** CPU seconds (user + system) each child of process `pid` (the brokers and manager of `mqraft up`) used so far. */
function childrenCpu(pid: number): Map<number, number> {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
  const cpu = new Map<number, number>();
  for (const child of children) {
    // the fields after the command name (which may hold spaces) start at the state, field 3
    const fields = readFileSync(`/proc/${child}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    cpu.set(Number(child), (Number(fields[11]) + Number(fields[12])) / 100);
  }
  return cpu;
}

/** What each child used between two readings, most first (the leader, then the followers, then the manager). */
function used(before: Map<number, number>, after: Map<number, number>): number[] {
  return [...after].map(([child, s]) => s - (before.get(child) ?? 0)).sort((a, b) => b - a);
}

/** Runs `args` against a fresh cluster; its msgs/s, publish→receive p50 and CPU time. */
async function once(kind: Kind, round: number): Promise<Round> {
  const data = `${DATA}/${kind}-${round}`;
  rmSync(data, { recursive: true, force: true });
  const up = Bun.spawn(
    [
      BINARY,
      "up",
      "--nodes",
      "3",
      "--data",
      data,
      "--base-port",
      String(BASE_PORT),
      "--manager-port",
      String(BASE_PORT + 88),
      "--http-port",
      "0",
      "--http-base-port",
      "0",
      "--log-level",
      "warn",
    ],
    { stdout: "ignore", stderr: "inherit" },
  );
  try {
    const servers = [0, 1, 2].map((i) => `127.0.0.1:${BASE_PORT + i}`).join(",");
    await waitForLeader(servers);
    const before = childrenCpu(up.pid);
    const bench = Bun.spawn(
      [BINARY, ...KINDS[kind], `bench-${kind}`, "--msgs", String(msgs), "--server", servers, "--json"],
      { stdout: "pipe", stderr: "ignore" },
    );
    const out = await new Response(bench.stdout).text();
    if ((await bench.exited) !== 0) throw new Error(`${kind} round ${round}: bench exited ${bench.exitCode}`);
    const result = v.parse(BenchResultSchema, JSON.parse(out.trim().split("\n").at(-1) as string));
    const usage = bench.resourceUsage();
    const client = usage === undefined ? 0 : Number(usage.cpuTime.total) / 1e6;
    const brokers = used(before, childrenCpu(up.pid));
    const cpu = brokers.reduce((a, b) => a + b, 0) + client;
    return { perSec: result.msgsPerSec, p50: result.p50ms, cpu, brokers, client };
  } finally {
    up.kill("SIGINT");
    await up.exited;
    rmSync(data, { recursive: true, force: true });
  }
}

/** `mqraft status` answers with a leader (the cluster just started). */
async function waitForLeader(servers: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const status = Bun.spawn([BINARY, "status", "--server", servers, "--json"], { stdout: "pipe", stderr: "ignore" });
    const out = await new Response(status.stdout).text();
    if ((await status.exited) === 0 && /"leader":\d/.test(out)) return;
    await Bun.sleep(100);
  }
  throw new Error("no leader within 10 s");
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

const ratios: number[] = [];
const cpuRatios: number[] = [];
console.log(`rounds of ${msgs} x 128 B; e2e flags: ${KINDS.group.slice(2).join(" ")}`);
for (let round = 1; round <= rounds; round++) {
  // the kind that goes first alternates, so a trend in the machine's load favours neither
  const order: Kind[] = round % 2 === 1 ? ["pub", "group"] : ["group", "pub"];
  const got: Partial<Record<Kind, Round>> = {};
  for (const kind of order) got[kind] = await once(kind, round);
  const { pub, group } = got as Record<Kind, Round>;
  const ratio = group.perSec / pub.perSec;
  ratios.push(ratio);
  cpuRatios.push(group.cpu / pub.cpu);
  const show = (r: Round) =>
    `${r.perSec} msgs/s (p50 ${r.p50} ms, CPU ${r.cpu.toFixed(2)} s: brokers ${r.brokers.map((b) => b.toFixed(2)).join("/")}, client ${r.client.toFixed(2)})`;
  console.log(`round ${round}: pub ${show(pub)}, group ${show(group)}, ratio ${ratio.toFixed(2)}`);
}
console.log(
  `median ratio ${median(ratios).toFixed(2)} over ${rounds} rounds; CPU time of the group per CPU time of pub: median ${median(cpuRatios).toFixed(2)}`,
);
