/**
 * One chaos run: a real cluster behind proxies, a seeded nemesis, a recorded workload, then heal, restart, drain
 * every topic on every broker, and check the history. Prints one summary line; exits 1 on a violation and keeps the
 * run's folder (data, logs, history, seed).
 *
 *   bun test/chaos/run.ts --seed 7 --duration 120 --nodes 3 [--keep] [--drop-acked] [--no-fsync] [--each-kind]
 *
 * --drop-acked removes one acknowledged value from the drains before checking: a scratch run that must be reported lost.
 * --no-fsync runs brokers that never fsync (a test-only mode) and cuts the power of every broker at the end: a scratch
 * run that must be reported lost too.
 * --each-kind runs every fault kind once (membership twice), briskly, instead of random faults for --duration seconds.
 * A drain that times out, or a power cut that cannot cut, fails the run.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { connect, type MqraftClient } from "../../src/client/index.ts";
import { createPrng } from "../../src/util/prng.ts";
import { drainRaw } from "../support/raw-client.ts";
import { waitFor } from "../support/wait.ts";
import { ChaosCluster } from "./chaos-cluster.ts";
import { type CheckReport, checkHistory, summarize } from "./checker.ts";
import type { HistoryLine } from "./history.ts";
import { runNemesis, type Schedule } from "./nemesis.ts";
import { Recorder } from "./recorder.ts";
import { durableConsumer, pipelinedWriter, sequentialWriter, subscriber, TOPICS } from "./workload.ts";

const RECOVERY_BOUND_MS = 15_000;

export interface RunOptions {
  seed: number;
  durationS: number;
  nodes: number;
  keep: boolean;
  dropAcked: boolean;
  /** Brokers that skip fsync, and a power cut of every broker at the end: a run the checker must fail. */
  noFsync?: boolean;
  /** Random faults for the run's duration (the default), every kind once (then the run ends), or none. */
  faults?: Schedule | "none";
}

export interface RunResult {
  summary: string;
  passed: boolean;
  dir: string;
  report: CheckReport;
  /** The recorded history, before any sabotage. */
  history: readonly HistoryLine[];
}

export async function runChaos(options: RunOptions): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), `mqraft-chaos-${options.seed}-`));
  writeFileSync(join(dir, "seed"), `${JSON.stringify(options)}\n`);
  const recorder = new Recorder(join(dir, "history.jsonl"));
  const prng = createPrng(options.seed);
  const cluster = await ChaosCluster.create(dir, options.nodes, 1, options.noFsync === true);
  try {
    await waitFor("a first leader", () => cluster.leader(), { timeoutMs: 15_000 });
    let faulting = true;
    let working = true;
    const servers = cluster.clientAddresses;
    const tasks = [
      ...[1, 2, 3].map((i) => sequentialWriter(`w${i}`, servers, recorder, prng.fork(), () => working)),
      // A writer that knows only the manager, which forwards each publish to the leader.
      sequentialWriter("m1", [cluster.managerAddress], recorder, prng.fork(), () => working),
      pipelinedWriter("p1", servers, recorder, prng.fork(), () => working),
      ...TOPICS.map((topic, i) => {
        const preferred = servers[i % options.nodes] as string;
        return subscriber(
          `s${i + 1}`,
          topic,
          [preferred, ...servers.filter((s) => s !== preferred)],
          recorder,
          prng.fork(),
          () => working,
        );
      }),
      durableConsumer("d1", TOPICS[1], [...servers].reverse(), recorder, prng.fork(), () => working),
    ];
    const faults = options.faults ?? "random";
    const nemesis =
      faults === "none" ? Promise.resolve() : runNemesis(cluster, recorder, prng.fork(), () => faulting, faults);
    if (faults === "each-kind") await nemesis;
    else await Bun.sleep(options.durationS * 1000);
    faulting = false;
    await nemesis;
    working = false;
    await Promise.all(tasks);

    cluster.healNetwork();
    cluster.startManager();
    const members = (await cluster.members()) ?? cluster.allIds;
    const restarted = cluster.allIds.filter((id) => members.includes(id) || cluster.isRunning(id));
    for (const id of restarted) {
      cluster.resume(id);
      if (options.noFsync)
        recorder.record({
          type: "fault",
          time: recorder.now(),
          description: `power loss of ${id} (${await cluster.powerLoss(id)})`,
        });
      else await cluster.kill(id);
      // Brokers that never fsync lose their folders: one power cut for all of them, as a real one is. Restarted one by
      // one, each empty folder would meet a cluster that still runs and wait for a log no one can give it back.
      if (!options.noFsync) cluster.start(id);
    }
    if (options.noFsync) for (const id of restarted) cluster.start(id);
    recorder.record({ type: "heal", time: recorder.now() });
    await probeAvailability(servers, recorder);
    const unsettled = await drainEverywhere(cluster, recorder);

    const history = options.dropAcked ? dropOneAcked(recorder.lines) : recorder.lines;
    const report = checkHistory(history, { recoveryBoundMs: RECOVERY_BOUND_MS });
    // a drain that never settled checked nothing for certain: the run fails, saying so
    report.violations.push(...unsettled.map((detail) => ({ kind: "drain-timeout" as const, detail })));
    const passed = report.violations.length === 0;
    if (!passed) writeFileSync(join(dir, "violations.json"), `${JSON.stringify(report.violations, null, 2)}\n`);
    const kinds = Object.entries(report.faultKinds)
      .map(([kind, n]) => `${kind}:${n}`)
      .join(",");
    return {
      summary: `${summarize(report)} seed=${options.seed} nodes=${options.nodes} ${faults === "each-kind" ? "each-kind" : `duration=${options.durationS}s`}${kinds === "" ? "" : ` fault-kinds=${kinds}`}`,
      passed,
      dir,
      report,
      history: recorder.lines,
    };
  } finally {
    await cluster.destroy();
  }
}

/**
 * Publishes after the heal until one is acknowledged or the bound has passed; the checker judges the time. Brokers
 * that are still starting may not answer yet: a failed connect is an unknown outcome like any other, and it retries.
 */
async function probeAvailability(servers: string[], recorder: Recorder): Promise<void> {
  const deadline = performance.now() + RECOVERY_BOUND_MS;
  let client: MqraftClient | undefined;
  try {
    for (let n = 0; performance.now() < deadline; n++) {
      const value = `probe-${n}`;
      recorder.record({
        type: "invoke",
        time: recorder.now(),
        process: "probe",
        sequential: true,
        topic: TOPICS[0],
        value,
      });
      try {
        client ??= await connect({ servers, timeoutMs: 3_000 });
        const { offset } = await client.publish(TOPICS[0], value);
        recorder.record({ type: "ok", time: recorder.now(), process: "probe", topic: TOPICS[0], value, offset });
        return;
      } catch (e) {
        recorder.record({
          type: "info",
          time: recorder.now(),
          process: "probe",
          topic: TOPICS[0],
          value,
          error: e instanceof Error ? e.message : String(e),
        });
        await Bun.sleep(100);
      }
    }
  } finally {
    await client?.close();
  }
}

/**
 * Reads every topic from offset 0 on every broker until all brokers hold the same sequence, then records the drains.
 * Returns what did not settle in time: the leader that never named the members, the topics brokers never agreed on.
 */
async function drainEverywhere(cluster: ChaosCluster, recorder: Recorder): Promise<string[]> {
  const unsettled: string[] = [];
  // Without a leader (the probe then fails the run), drain every running broker.
  const members = await waitFor("a leader to name the members", () => cluster.members(), { timeoutMs: 20_000 }).catch(
    (e: unknown) => {
      unsettled.push(`no leader named the members: ${e instanceof Error ? e.message : String(e)}`);
      return cluster.allIds.filter((id) => cluster.isRunning(id));
    },
  );
  for (const topic of TOPICS) {
    let last: { broker: number; messages: { offset: number; value: string }[] }[] = [];
    await waitFor(
      `every broker to hold the same ${topic}`,
      async () => {
        last = await Promise.all(
          members.map(async (broker) => ({
            broker,
            messages: await drainRaw(cluster.realAddress(broker), topic, 10_000),
          })),
        );
        const lengths = new Set(last.map((d) => d.messages.length));
        return lengths.size === 1 ? true : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    ).catch((e: unknown) => {
      unsettled.push(`${topic}: ${e instanceof Error ? e.message : String(e)}`);
    });
    for (const d of last)
      recorder.record({ type: "drain", time: recorder.now(), broker: d.broker, topic, messages: d.messages });
  }
  return unsettled;
}

/** The scratch run's sabotage: the last acknowledged value vanishes from every drain. */
export function dropOneAcked(lines: readonly HistoryLine[]): HistoryLine[] {
  const victim = lines.findLast((l) => l.type === "ok");
  if (victim === undefined || victim.type !== "ok") return [...lines];
  return lines.map((l) =>
    l.type === "drain" && l.topic === victim.topic
      ? { ...l, messages: l.messages.filter((m) => m.value !== victim.value) }
      : l,
  );
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      seed: { type: "string", default: "1" },
      duration: { type: "string", default: "30" },
      nodes: { type: "string", default: "3" },
      keep: { type: "boolean", default: false },
      "drop-acked": { type: "boolean", default: false },
      "no-fsync": { type: "boolean", default: false },
      "each-kind": { type: "boolean", default: false },
    },
  });
  const options: RunOptions = {
    seed: Number(values.seed),
    durationS: Number(values.duration),
    nodes: Number(values.nodes),
    keep: values.keep,
    dropAcked: values["drop-acked"],
    noFsync: values["no-fsync"],
    faults: values["each-kind"] ? "each-kind" : "random",
  };
  if (!Number.isSafeInteger(options.seed) || !(options.durationS > 0) || ![3, 5].includes(options.nodes)) {
    console.error(
      "usage: bun test/chaos/run.ts --seed <integer> --duration <seconds> --nodes 3|5 [--keep] [--drop-acked] [--no-fsync] [--each-kind]",
    );
    process.exit(2);
  }
  const result = await runChaos(options);
  console.log(result.summary);
  if (!result.passed)
    console.log(`kept ${result.dir} (history.jsonl, violations.json, broker logs, data folders, seed)`);
  else if (options.keep) console.log(`kept ${result.dir}`);
  else rmSync(result.dir, { recursive: true, force: true });
  process.exit(result.passed ? 0 : 1);
}
