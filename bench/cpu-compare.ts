/**
 * CPU and scheduling cost of the same paced end-to-end workload on a 3-node JetStream cluster and a 3-broker mqraft
 * cluster, in one run: latency, CPU of the servers and of the bench client, cores busy (whole machine), context switches, and how late an idle
 * process beside them gets its timer (bench/late-ticks.ts). Shows how close each system brings the machine to
 * saturation, which is where latency tails come from on a small machine (bench/RESULTS.md, run 5).
 *   make build && bun bench/compare-nats.ts once (installs the tools), then: bun bench/cpu-compare.ts [rate=1000] [seconds=5]
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { BenchResultSchema } from "../cmd/bench-stats.ts";
import { buildNatsBench, ensureNatsTools, Servers } from "./compare-nats-servers.ts";

const ROOT = join(import.meta.dir, "..");
const MQRAFT = join(ROOT, "dist", "mqraft");
const rate = Number(process.argv[2] ?? 1000);
const seconds = Number(process.argv[3] ?? 5);
const msgs = String(rate * seconds);

interface MachineTicks {
  user: number;
  system: number;
  idle: number;
  switches: number;
}

function machineTicks(): MachineTicks {
  const stat = readFileSync("/proc/stat", "utf8");
  const f = (stat.split("\n")[0] ?? "").split(/\s+/).slice(1).map(Number);
  const at = (i: number) => f[i] ?? 0;
  return {
    user: at(0) + at(1),
    system: at(2) + at(5) + at(6),
    idle: at(3) + at(4),
    switches: Number(/ctxt (\d+)/.exec(stat)?.[1] ?? 0),
  };
}

/** CPU ticks (1/100 s) the processes matching `pattern` have used so far. */
function processTicks(pattern: string): number {
  const pids = Bun.spawnSync(["pgrep", "-f", pattern]).stdout.toString().trim().split("\n").filter(Boolean);
  let ticks = 0;
  for (const pid of pids) {
    try {
      const fields = (readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1] ?? "").split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone meanwhile
    }
  }
  return ticks;
}

async function measured(label: string, serverPattern: string, argv: string[]): Promise<string> {
  const probe = Bun.spawn([process.execPath, join(import.meta.dir, "late-ticks.ts"), String(seconds * 1000)], {
    stdout: "pipe",
  });
  const before = machineTicks();
  const serversBefore = processTicks(serverPattern);
  const started = performance.now();
  const bench = Bun.spawn(argv, { stdout: "pipe", stderr: "inherit" });
  const out = await new Response(bench.stdout).text();
  if ((await bench.exited) !== 0) throw new Error(`${argv.join(" ")} failed`);
  const after = machineTicks();
  const serverTicks = processTicks(serverPattern) - serversBefore;
  const clientCpuMs = Number(bench.resourceUsage()?.cpuTime.total ?? 0) / 1000; // µs -> ms
  const s = (performance.now() - started) / 1000;
  const late = JSON.parse(await new Response(probe.stdout).text()) as {
    over1_5ms: number;
    over3ms: number;
    maxms: number;
  };
  const r = v.parse(BenchResultSchema, JSON.parse(out.trim().split("\n").at(-1) ?? ""));
  const cores = (ticks: number) => (ticks / 100 / s).toFixed(2);
  const machine = `${cores(after.user + after.system - before.user - before.system)} (user ${cores(after.user - before.user)}, system ${cores(after.system - before.system)})`;
  return `| ${label} | ${r.p50ms} | ${r.p99ms} | ${cores(serverTicks)} | ${(clientCpuMs / 1000 / s).toFixed(2)} | ${machine} | ${Math.round((after.switches - before.switches) / s)} | ${late.over1_5ms} / ${late.over3ms}, max ${late.maxms} ms |`;
}

async function firstAck(servers: string): Promise<void> {
  for (let i = 0; i < 60; i++) {
    if (Bun.spawnSync([MQRAFT, "bench", "pub", "warm", "--msgs", "100", "--server", servers, "--json"]).exitCode === 0)
      return;
    await Bun.sleep(500);
  }
  throw new Error("the mqraft cluster did not acknowledge a publish within 30 s");
}

const dir = mkdtempSync(join(tmpdir(), "mqraft-cpu-compare-"));
const servers = new Servers(dir);
const rows: string[] = [];
try {
  await ensureNatsTools();
  const natsBench = await buildNatsBench(ROOT, dir);
  const urls = await servers.startNats();
  // a warm-up of 20 s for both: Bun compiles hot code for about that long
  Bun.spawnSync([natsBench, "e2e", "cpu.warm", "--msgs", "40000", "--rate", "2000", "--server", urls, "--json"]);
  for (let i = 0; i < 2; i++) {
    rows.push(
      await measured("JetStream R3", "nats-server", [
        natsBench,
        "e2e",
        `cpu.run${i}`,
        "--msgs",
        msgs,
        "--size",
        "128",
        "--rate",
        String(rate),
        "--server",
        urls,
        "--json",
      ]),
    );
  }
  await servers.stop();
  const mqraft = await servers.startMqraft(MQRAFT);
  await firstAck(mqraft);
  Bun.spawnSync([
    MQRAFT,
    "bench",
    "e2e",
    "cpu-warm",
    "--msgs",
    "40000",
    "--rate",
    "2000",
    "--server",
    mqraft,
    "--json",
  ]);
  for (let i = 0; i < 2; i++) {
    rows.push(
      await measured("mqraft", `${MQRAFT} broker`, [
        MQRAFT,
        "bench",
        "e2e",
        `cpu-run${i}`,
        "--msgs",
        msgs,
        "--size",
        "128",
        "--rate",
        String(rate),
        "--server",
        mqraft,
        "--json",
      ]),
    );
  }
} finally {
  await servers.stop();
  rmSync(dir, { recursive: true, force: true });
}
console.log(
  `\nend to end, 128 B paced at ${rate} msg/s for ${seconds} s, ${navigator.hardwareConcurrency} cores, each system twice\n`,
);
console.log(
  "| system | p50 ms | p99 ms | servers' cores | client's cores | machine's cores busy | context switches/s | idle process's timer late > 1.5 / > 3 ms |",
);
console.log("|---|---:|---:|---:|---:|---:|---:|---:|");
for (const row of rows) console.log(row);
