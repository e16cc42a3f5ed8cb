import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { connect } from "../../src/client/index.ts";
import { requireBinary } from "../support/binary.ts";
import { freePorts } from "../support/ports.ts";
import { mib, processMemory } from "../support/process-memory.ts";
import { waitFor } from "../support/wait.ts";
import { fuzzPort, type PortResult } from "./fuzz-run.ts";

/** The topic whose acknowledged messages must come through the run unchanged; fuzzed topics are letters only. */
const CHECK_TOPIC = "acked-check";
const CHECK_MESSAGES = 50;

export interface FuzzOutcome {
  seed: number;
  ports: (PortResult & { rssBefore: number; rssAfter: number })[];
  /** What went wrong, one line each; empty when the run passed. */
  problems: string[];
}

/** The line the closing note quotes: frames per port and kind, crashes, RSS growth. */
export function summary(o: FuzzOutcome): string {
  const ports = o.ports.map(
    (p) =>
      `${p.port}: ${p.frames} frames in ${p.connections} connections (${Object.entries(p.byKind)
        .map(([k, n]) => `${k} ${n}`)
        .join(", ")}), RSS after the warm-up round ${mib(p.rssBefore)} -> ${mib(p.rssAfter)}`,
  );
  return `fuzz seed ${o.seed}: ${ports.join("; ")}; crashes ${o.problems.filter((p) => p.includes("exited")).length}, problems ${o.problems.length}`;
}

/**
 * A live broker and a live manager (with a cluster secret, so a fuzzed report or peer hello proves nothing), fuzzed
 * with `frames` frames each at the same time; then both must still be running, serve a publish and a subscribe, have
 * grown their RSS by less than 50 MB, and hold every acknowledged message as it was acknowledged.
 */
export async function runFuzz(seed: number, frames: number): Promise<FuzzOutcome> {
  const dir = mkdtempSync(join(tmpdir(), "mqraft-fuzz-"));
  const procs: Subprocess[] = [];
  try {
    const [brokerPort, managerPort] = (await freePorts(2)) as [number, number];
    const broker = `127.0.0.1:${brokerPort}`;
    const manager = `127.0.0.1:${managerPort}`;
    const secret = join(dir, "secret");
    writeFileSync(secret, "fuzzing secret", { mode: 0o600 });
    const spawn = (name: string, args: string[]): Subprocess => {
      const fd = openSync(join(dir, `${name}.log`), "a");
      const proc = Bun.spawn([requireBinary(), ...args, "--cluster-secret-file", secret, "--log-level", "warn"], {
        stdout: fd,
        stderr: fd,
        stdin: "ignore",
      });
      closeSync(fd);
      procs.push(proc);
      return proc;
    };
    const managerProc = spawn("manager", ["manager", "--port", String(managerPort)]);
    const brokerProc = spawn("broker", [
      "broker",
      "--id",
      "1",
      "--port",
      String(brokerPort),
      "--data",
      join(dir, "data"),
      "--manager",
      manager,
      "--heartbeat-ms",
      "50",
      "--election-ms",
      "300",
    ]);

    const acked = await publishCheck(broker);
    await serves(manager, "before");
    // a first, shorter round brings each process to its working size (heap, JIT, allocator arenas): what the main
    // round adds beyond that is what grows with traffic
    const warmUp = Math.max(2_000, Math.floor(frames / 10));
    await Promise.all([fuzzPort(broker, "broker", seed + 2, warmUp), fuzzPort(manager, "manager", seed + 3, warmUp)]);
    const before = [processMemory(brokerProc.pid).rss, processMemory(managerProc.pid).rss];
    const results = await Promise.all([
      fuzzPort(broker, "broker", seed, frames),
      fuzzPort(manager, "manager", seed + 1, frames),
    ]);
    const problems: string[] = [];
    for (const [name, proc] of [
      ["broker", brokerProc],
      ["manager", managerProc],
    ] as const)
      if (proc.exitCode !== null || proc.signalCode !== null)
        problems.push(`the ${name} exited (${proc.exitCode ?? proc.signalCode}): ${tail(join(dir, `${name}.log`))}`);
    const after =
      problems.length > 0 ? before : [processMemory(brokerProc.pid).rss, processMemory(managerProc.pid).rss];
    if (problems.length === 0) {
      for (const server of [broker, manager]) await serves(server, "after").catch((e) => problems.push(String(e)));
      await checkUnchanged(broker, acked).catch((e) => problems.push(String(e)));
    }
    const ports = results.map((r, i) => ({ ...r, rssBefore: before[i] as number, rssAfter: after[i] as number }));
    for (const p of ports)
      if (p.rssAfter - p.rssBefore >= 50e6) problems.push(`${p.port} RSS grew ${mib(p.rssAfter - p.rssBefore)}`);
    return { seed, ports, problems };
  } finally {
    for (const p of procs) p.kill("SIGKILL");
    await Promise.all(procs.map((p) => p.exited));
    rmSync(dir, { recursive: true, force: true });
  }
}

function tail(path: string): string {
  return readFileSync(path, "utf8").split("\n").slice(-5).join(" | ");
}

async function publishCheck(server: string): Promise<Map<number, string>> {
  const client = await waitFor("the broker to elect itself and take a publish", async () => {
    const c = await connect({ servers: [server], timeoutMs: 5_000 });
    try {
      await c.publish(CHECK_TOPIC, "check-0");
      return c;
    } catch (e) {
      await c.close();
      throw e;
    }
  });
  const acked = new Map<number, string>([[0, "check-0"]]);
  try {
    for (let i = 1; i < CHECK_MESSAGES; i++)
      acked.set((await client.publish(CHECK_TOPIC, `check-${i}`)).offset, `check-${i}`);
  } finally {
    await client.close();
  }
  return acked;
}

/** A publish and a subscribe through `server` (a broker, or the manager as the directory it is). */
async function serves(server: string, when: string): Promise<void> {
  const client = await connect({ servers: [server], timeoutMs: 10_000 });
  try {
    const { offset } = await client.publish("served", `${when} ${server}`);
    const sub = await client.subscribe("served", { from: offset });
    for await (const m of sub) {
      if (new TextDecoder().decode(m.data) !== `${when} ${server}`)
        throw new Error(`${server} served another message at ${offset}`);
      break;
    }
    await sub.close();
  } finally {
    await client.close();
  }
}

async function checkUnchanged(server: string, acked: Map<number, string>): Promise<void> {
  const client = await connect({ servers: [server], timeoutMs: 10_000 });
  try {
    const sub = await client.subscribe(CHECK_TOPIC, { from: "earliest", drain: true });
    const seen = new Map<number, string>();
    for await (const m of sub) seen.set(m.offset, new TextDecoder().decode(m.data));
    for (const [offset, value] of acked)
      if (seen.get(offset) !== value)
        throw new Error(`${CHECK_TOPIC} #${offset}: acknowledged ${value}, now ${seen.get(offset)}`);
    if (seen.size !== acked.size)
      throw new Error(`${CHECK_TOPIC} holds ${seen.size} messages, ${acked.size} were acknowledged`);
  } finally {
    await client.close();
  }
}
