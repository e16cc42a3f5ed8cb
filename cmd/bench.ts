import { defineCommand } from "citty";
import { type BenchRawArgs, type BenchSettings, benchArgs, parseBenchArgs } from "./bench-flags.ts";
import { groupLoad } from "./bench-group.ts";
import { Progress } from "./bench-progress.ts";
import { publishLoad } from "./bench-publish.ts";
import { receiveLoad } from "./bench-receive.ts";
import { type BenchResult, LatencyRecorder, resultLines, summarize } from "./bench-stats.ts";

type Mode = "pub" | "sub" | "e2e";

function banner(mode: Mode, s: BenchSettings): string {
  const common = `topic ${s.topic}, ${s.msgs} msgs of ${s.size} B, servers ${s.servers.join(",")}`;
  const publishers = `${s.clients} publisher(s), window ${s.window}, rate ${s.rate === undefined ? "unpaced" : `${s.rate} msgs/s`}`;
  switch (mode) {
    case "pub":
      return `mqraft bench pub: ${common}, ${publishers}`;
    case "sub":
      return `mqraft bench sub: ${common}, ${s.clients} subscriber(s) from ${s.from}`;
    case "e2e":
      return s.group === undefined
        ? `mqraft bench e2e: ${common}, ${publishers}, ${s.subs} subscriber(s)`
        : `mqraft bench e2e: ${common}, ${publishers}, ${s.subs} member(s) of group ${s.group} holding at most ${s.maxPending ?? 1000} each, each message acked by one`;
  }
}

/** Publish→ack latency and throughput of `msgs` publishes. */
async function benchPub(s: BenchSettings): Promise<BenchResult> {
  const load = publishLoad(s);
  try {
    await load.ready();
    const latencies = new LatencyRecorder(s.msgs);
    const progress = new Progress("publishing", s.msgs);
    const start = performance.now();
    await load.run((ms) => {
      latencies.record(ms);
      progress.add(1);
    });
    const seconds = (performance.now() - start) / 1000;
    progress.stop();
    return summarize(s.msgs, s.size, seconds, latencies);
  } finally {
    await load.close();
  }
}

/** Every subscriber reads `msgs` messages: received throughput in all, publish→receive latency of stamped payloads. */
async function benchSub(s: BenchSettings): Promise<BenchResult> {
  const total = s.msgs * s.clients;
  const latencies = new LatencyRecorder(total);
  const progress = new Progress("receiving", total);
  const start = performance.now();
  const load = await receiveLoad(s, s.clients, s.from, (ms) => {
    if (ms !== undefined) latencies.record(ms);
    progress.add(1);
  });
  try {
    await load.done;
    const seconds = (performance.now() - start) / 1000;
    progress.stop();
    return summarize(total, s.size, seconds, latencies);
  } finally {
    await load.close();
  }
}

/** Publishers and subscribers at once: time until every subscriber has every message, publish→receive latency. */
async function benchE2e(s: BenchSettings): Promise<BenchResult> {
  const publishers = publishLoad(s);
  try {
    await publishers.ready();
    // a group delivers each message once, to one member; plain subscribers each get every message
    const received = s.group === undefined ? s.msgs * s.subs : s.msgs;
    const latencies = new LatencyRecorder(received);
    const progress = new Progress("end to end", received);
    const load = s.group === undefined ? receiveLoad : groupLoad;
    const subscribers = await load(s, s.subs, "latest", (ms) => {
      if (ms !== undefined) latencies.record(ms);
      progress.add(1);
    });
    try {
      const start = performance.now();
      await Promise.all([publishers.run(() => {}), subscribers.done]);
      const seconds = (performance.now() - start) / 1000;
      progress.stop();
      return summarize(s.msgs, s.size, seconds, latencies);
    } finally {
      await subscribers.close();
    }
  } finally {
    await publishers.close();
  }
}

const runners: Record<Mode, (s: BenchSettings) => Promise<BenchResult>> = {
  pub: benchPub,
  sub: benchSub,
  e2e: benchE2e,
};

const descriptions: Record<Mode, string> = {
  pub: "Publish N messages from C clients with W in flight each; report msgs/s, MB/s and publish→ack latency",
  sub: "Read N messages with each of C subscribers; report msgs/s, MB/s and publish→receive latency of bench payloads",
  e2e: "Publish and subscribe at once, optionally paced with --rate; report msgs/s, MB/s and publish→receive latency",
};

/** The flags a mode reads, and no other: --help of each mode lists only what changes its run. */
/** Every mode connects, so every mode takes the token and TLS flags (docs/security.md). */
const CREDENTIALS = ["token", "token-file", "tls-ca", "tls-cert", "tls-key"] as const;
const MODE_FLAGS: Record<Mode, readonly (keyof typeof benchArgs)[]> = {
  pub: ["topic", "server", "json", "msgs", "size", "clients", "window", "rate", "timeout", ...CREDENTIALS],
  sub: ["topic", "server", "json", "msgs", "size", "clients", "from", "timeout", ...CREDENTIALS],
  e2e: [
    "topic",
    "server",
    "json",
    "msgs",
    "size",
    "clients",
    "window",
    "rate",
    "subs",
    "group",
    "max-pending",
    "timeout",
    ...CREDENTIALS,
  ],
};

function argsOf(mode: Mode): Partial<typeof benchArgs> {
  return Object.fromEntries(MODE_FLAGS[mode].map((name) => [name, benchArgs[name]]));
}

const modeCommand = (mode: Mode) =>
  defineCommand({
    meta: { name: mode, description: descriptions[mode] },
    args: argsOf(mode),
    async run({ args }) {
      const settings = parseBenchArgs(mode, args as BenchRawArgs);
      // with --json stdout carries the JSON object only
      if (settings.json) console.error(banner(mode, settings));
      else console.log(banner(mode, settings));
      const result = await runners[mode](settings);
      console.log(resultLines(result, settings.json).join("\n"));
    },
  });

export default defineCommand({
  meta: { name: "bench", description: "Measure a cluster's throughput and latency, in the spirit of nats bench" },
  subCommands: { pub: modeCommand("pub"), sub: modeCommand("sub"), e2e: modeCommand("e2e") },
});
