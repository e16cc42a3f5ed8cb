/**
 * mqraft against NATS JetStream on this machine, in one run: a 3-node JetStream cluster (file storage, R3 stream,
 * driven by the Go client of bench/nats-bench) and a 3-broker mqraft cluster (driven by `mqraft bench`), the same
 * workloads one after the other, one table with the ratio mqraft/JetStream per row. Stops every server it started.
 *   make bench-compare            (or: bun bench/compare-nats.ts [scale], scale multiplies the message counts)
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { type BenchResult, BenchResultSchema } from "../cmd/bench-stats.ts";
import { haveOpenssl, makeTestCa } from "../test/support/test-ca.ts";
import { buildNatsBench, ensureNatsTools, Servers } from "./compare-nats-servers.ts";

const ROOT = join(import.meta.dir, "..");
const MQRAFT = join(ROOT, "dist", "mqraft");
const scale = Number(process.argv[2] ?? 1);

interface Workload {
  name: string;
  mode: "pub" | "e2e";
  args: string[];
  /** The figures the table shows for this workload, with which way is better. */
  rows: { metric: keyof BenchResult; label: string; higherIsBetter: boolean }[];
}

const n = (count: number): string => String(Math.max(100, Math.round(count * scale)));
const throughput = { metric: "msgsPerSec", label: "msgs/s", higherIsBetter: true } as const;
const latencyRows = [
  { metric: "p50ms", label: "p50 ms", higherIsBetter: false },
  { metric: "p99ms", label: "p99 ms", higherIsBetter: false },
] as const;

const WORKLOADS: Workload[] = [
  {
    name: "pipelined publish, 128 B, window 1000",
    mode: "pub",
    args: ["--msgs", n(200_000), "--size", "128", "--window", "1000"],
    rows: [throughput],
  },
  {
    name: "pipelined publish, 1 KiB, window 1000",
    mode: "pub",
    args: ["--msgs", n(100_000), "--size", "1024", "--window", "1000"],
    rows: [{ metric: "MBps", label: "MB/s", higherIsBetter: true }],
  },
  {
    name: "synchronous publish, 128 B",
    mode: "pub",
    args: ["--msgs", n(5_000), "--size", "128", "--window", "1"],
    rows: [throughput, ...latencyRows],
  },
  {
    name: "end-to-end at 1,000 msg/s, 128 B",
    mode: "e2e",
    args: ["--msgs", n(5_000), "--size", "128", "--rate", "1000"],
    rows: [...latencyRows],
  },
  {
    name: "end-to-end saturated, 128 B",
    mode: "e2e",
    args: ["--msgs", n(100_000), "--size", "128", "--window", "1000"],
    rows: [throughput, ...latencyRows],
  },
];

/** Runs one bench command and returns its --json last line; the rest of its output goes to ours. */
async function runBench(argv: string[]): Promise<BenchResult> {
  const proc = Bun.spawn(argv, { stdout: "pipe", stderr: "inherit" });
  const out = await new Response(proc.stdout).text();
  const code = await proc.exited;
  process.stdout.write(out);
  if (code !== 0) throw new Error(`${argv.join(" ")} exited ${code}`);
  const lines = out.trim().split("\n");
  return v.parse(BenchResultSchema, JSON.parse(lines[lines.length - 1] ?? ""));
}

/** A cluster that has just started may have no leader yet: the first run is retried for a while. */
async function firstRun(argv: string[]): Promise<BenchResult> {
  const deadline = performance.now() + 30_000;
  for (;;) {
    try {
      return await runBench(argv);
    } catch (e) {
      if (performance.now() > deadline) throw e;
      await Bun.sleep(500);
    }
  }
}

/** The command line of `mqraft bench` for workload `w` (its `i`th) against `servers`, with `extra` client flags. */
function mqraftBench(servers: string, extra: string[] = []): (w: Workload, i: number) => string[] {
  return (w, i) => [MQRAFT, "bench", w.mode, `bench-w${i}`, ...w.args, "--server", servers, ...extra, "--json"];
}

async function runAll(label: string, command: (w: Workload, i: number) => string[]): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const [i, w] of WORKLOADS.entries()) {
    console.log(`\n== ${label}: ${w.name}`);
    results.push(await (i === 0 ? firstRun(command(w, i)) : runBench(command(w, i))));
  }
  return results;
}

function table(nats: BenchResult[], mqraft: BenchResult[], secured: BenchResult[] | undefined): string {
  const lines = [
    secured === undefined
      ? "| workload | figure | JetStream R3 (Go client) | mqraft (3 brokers) | mqraft/JetStream |"
      : "| workload | figure | JetStream R3 (Go client) | mqraft (3 brokers) | mqraft/JetStream | mqraft with TLS and auth | with TLS and auth/JetStream |",
    secured === undefined ? "|---|---|---:|---:|---:|" : "|---|---|---:|---:|---:|---:|---:|",
  ];
  const ratio = (a: number, b: number) => (a === 0 ? "n/a" : `${(b / a).toFixed(2)}×`);
  WORKLOADS.forEach((w, i) => {
    for (const row of w.rows) {
      const a = nats[i]?.[row.metric] ?? 0;
      const b = mqraft[i]?.[row.metric] ?? 0;
      const cells = [w.name, `${row.label} (${row.higherIsBetter ? "higher" : "lower"} is better)`, a, b, ratio(a, b)];
      if (secured !== undefined) {
        const c = secured[i]?.[row.metric] ?? 0;
        cells.push(c, ratio(a, c));
      }
      lines.push(`| ${cells.join(" | ")} |`);
    }
  });
  return lines.join("\n");
}

/**
 * The same cluster with everything issue 14 adds turned on: TLS with a CA of its own (mutual, between brokers and
 * for the bench client), a cluster secret and an admin token the bench client logs in with. Undefined when there is
 * no openssl(1) to make the CA with.
 */
function securedSettings(dir: string): { broker: string[]; client: string[] } | undefined {
  if (!haveOpenssl()) {
    console.warn("no openssl: the run with TLS and auth is left out");
    return undefined;
  }
  const ca = makeTestCa(join(dir, "tls"));
  const node = ca.issue("node");
  const client = ca.issue("client");
  const secret = join(dir, "cluster-secret");
  const admin = join(dir, "admin-token");
  writeFileSync(secret, crypto.getRandomValues(new Uint8Array(32)), { mode: 0o600 });
  writeFileSync(admin, "bench admin token, long enough", { mode: 0o600 });
  const tls = (pair: { cert: string; key: string }) => [
    "--tls-ca",
    ca.ca,
    "--tls-cert",
    pair.cert,
    "--tls-key",
    pair.key,
  ];
  return {
    broker: [...tls(node), "--cluster-secret-file", secret, "--admin-token-file", admin],
    client: [...tls(client), "--token-file", admin],
  };
}

async function gitCommit(): Promise<string> {
  const proc = Bun.spawn(["git", "rev-parse", "--short", "HEAD"], { cwd: ROOT, stdout: "pipe", stderr: "ignore" });
  return (await new Response(proc.stdout).text()).trim() || "unknown";
}

const dir = mkdtempSync(join(tmpdir(), "mqraft-compare-"));
const servers = new Servers(dir);
try {
  await ensureNatsTools();
  const natsBench = await buildNatsBench(ROOT, dir);

  const natsUrls = await servers.startNats();
  const nats = await runAll("JetStream", (w, i) => [
    natsBench,
    w.mode,
    `bench.w${i}`,
    ...w.args,
    "--server",
    natsUrls,
    "--json",
  ]);
  await servers.stop();

  const mqraft = await runAll("mqraft", mqraftBench(await servers.startMqraft(MQRAFT)));
  await servers.stop();

  const settings = securedSettings(dir);
  let secured: BenchResult[] | undefined;
  if (settings !== undefined) {
    const securedServers = await servers.startMqraft(MQRAFT, settings.broker);
    secured = await runAll("mqraft with TLS and auth", mqraftBench(securedServers, settings.client));
    await servers.stop();
  }

  const version = Bun.spawnSync(["nats-server", "--version"]).stdout.toString().trim();
  console.log(
    `\nmeasured on commit ${await gitCommit()}, ${version}, scale ${scale}, ${navigator.hardwareConcurrency} cores\n`,
  );
  console.log(table(nats, mqraft, secured));
} finally {
  await servers.stop();
  rmSync(dir, { recursive: true, force: true });
}
