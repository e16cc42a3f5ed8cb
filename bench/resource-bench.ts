/**
 * Issue 8's other figures for one broker of the compiled binary: start-up time (spawn → first acknowledged publish,
 * median of 5) and resident memory with 1 million retained 128-byte messages.
 *   make build && bun bench/resource-bench.ts [messages] [--live-heap]   (MQRAFT_BIN=path runs another binary)
 * With --live-heap the broker is the test build (make dist/mqraft-test; MQRAFT_TEST_BIN=path for another), which
 * after the figures below collects its garbage on a signal and prints what is alive (src/util/test-gc.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "../src/client/index.ts";
import { TEST_GC_ENV, TEST_GC_LINE } from "../src/util/test-gc.ts";
import { MQRAFT_BIN, MQRAFT_TEST_BIN } from "../test/support/binary.ts";
import { freePorts } from "../test/support/ports.ts";
import { mib, processMemory } from "../test/support/process-memory.ts";

const liveHeap = process.argv.includes("--live-heap");
const messages = Number(process.argv.slice(2).find((a) => !a.startsWith("--")) ?? 1_000_000);
const BIN = liveHeap ? MQRAFT_TEST_BIN : MQRAFT_BIN;
const dir = mkdtempSync(join(tmpdir(), "mqraft-resource-"));

function startBroker(port: number, data: string) {
  return Bun.spawn([BIN, "broker", "--port", String(port), "--data", data, "--log-level", "warn"], {
    stdout: "ignore",
    stderr: liveHeap ? "pipe" : "inherit",
    env: liveHeap ? { ...process.env, [TEST_GC_ENV]: "1" } : process.env,
  });
}

/** Passes the broker's stderr through and resolves with the live heap's bytes once it prints them (test-gc.ts). */
async function liveHeapOf(stderr: ReadableStream<Uint8Array>, pid: number): Promise<number> {
  const decoder = new TextDecoder();
  let text = "";
  process.kill(pid, "SIGUSR2");
  for await (const chunk of stderr) {
    text += decoder.decode(chunk, { stream: true });
    const at = text.indexOf(TEST_GC_LINE);
    if (at >= 0 && text.indexOf("\n", at) > 0)
      return Number(text.slice(at + TEST_GC_LINE.length, text.indexOf("\n", at)));
  }
  throw new Error(`the broker ended without printing its live heap:\n${text}`);
}

/** Retries a publish until the broker acknowledges one; returns when it first answered a connect, if asked. */
async function firstAck(address: string): Promise<number | undefined> {
  const deadline = performance.now() + 20_000;
  let answered: number | undefined;
  for (;;) {
    try {
      const client = await connect({ servers: [address], timeoutMs: 1_000, connectTimeoutMs: 100 });
      answered ??= performance.now();
      try {
        await client.publish("ready", "x");
        return answered;
      } finally {
        await client.close();
      }
    } catch (e) {
      if (performance.now() > deadline) throw e;
      await Bun.sleep(2);
    }
  }
}

try {
  const times: number[] = [];
  const listening: number[] = [];
  for (let i = 0; i < 5; i++) {
    const [port] = await freePorts(1);
    const t = performance.now();
    const broker = startBroker(port as number, join(dir, `start-${i}`));
    const answered = await firstAck(`127.0.0.1:${port}`);
    times.push(performance.now() - t);
    listening.push((answered ?? performance.now()) - t);
    broker.kill("SIGTERM");
    await broker.exited;
  }
  const median = (xs: number[]): string =>
    `median ${xs.sort((a, b) => a - b)[2]?.toFixed(0)} ms of ${xs.map((x) => x.toFixed(0)).join(", ")}`;
  console.log(`start-up, spawn → first answered connect: ${median(listening)}`);
  // a one-node cluster still waits one election timeout (--election-ms, randomised) before it leads
  console.log(`start-up, spawn → first acknowledged publish: ${median(times)}`);

  const [port] = await freePorts(1);
  const broker = startBroker(port as number, join(dir, "rss"));
  const address = `127.0.0.1:${port}`;
  await firstAck(address);
  const before = processMemory(broker.pid);
  const load = Bun.spawn(
    [BIN, "bench", "pub", "rss", "--server", address, "--msgs", String(messages), "--clients", "2", "--json"],
    {
      stdout: "pipe",
      stderr: "inherit",
    },
  );
  // The peak while loading, sampled every 100 ms: one figure right after the load lands anywhere in a collection cycle.
  let peak = before;
  const sampler = setInterval(() => {
    const now = processMemory(broker.pid);
    if (now.rss > peak.rss) peak = now;
  }, 100);
  const out = await new Response(load.stdout).text();
  clearInterval(sampler);
  if ((await load.exited) !== 0) throw new Error(`mqraft bench pub failed:\n${out}`);
  const after = processMemory(broker.pid);
  console.log(
    `broker RSS: ${mib(before.rss)} idle, ${mib(after.rss)} with ${messages} retained 128-byte messages ` +
      `(anonymous ${mib(before.anonymous)} -> ${mib(after.anonymous)})`,
  );
  console.log(`broker RSS at its peak while loading: ${mib(peak.rss)} (anonymous ${mib(peak.anonymous)})`);
  console.log(`(publishing them: ${out.trim().split("\n").at(-1)})`);
  // Right after the load the process still holds garbage not yet collected and freed pages not yet returned to the
  // system; what the broker keeps shows once it has been idle for a while.
  await Bun.sleep(10_000);
  const idle = processMemory(broker.pid);
  console.log(`broker RSS after 10 s idle: ${mib(idle.rss)} (anonymous ${mib(idle.anonymous)})`);
  if (liveHeap) {
    const live = await liveHeapOf(broker.stderr as ReadableStream<Uint8Array>, broker.pid);
    const collected = processMemory(broker.pid);
    console.log(
      `broker live heap after a full collection: ${(live / 1e6).toFixed(1)} MB (RSS then ${mib(collected.rss)}, anonymous ${mib(collected.anonymous)})`,
    );
  }
  broker.kill("SIGTERM");
  await broker.exited;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
