/**
 * Memory under sustained load (issue 19): a 3-broker cluster of the compiled binary takes N GB of publishes, mixed
 * 10 KB and 128 B messages (two clients, 200 publishes in flight each), while one subscriber reads every topic along and one
 * durable subscriber acks what it reads. Each broker's RSS and anonymous memory (/proc/<pid>/smaps_rollup) is printed
 * every 10 s, when each half's publishing is done, and at the end (the peaks are taken from a reading every second).
 * Anonymous memory swings by tens of MB between collections under load, so the growth is
 * judged on settled figures: at half the volume and at the end the publishers pause until both subscribers have read
 * everything, and each broker's lowest figure over the next 30 idle seconds is taken. Each topic retains the
 * messages of an eighth of the run, so the retained state has its final size by half the run (see RETAIN). The last
 * line is the largest broker's growth over the second half of the run.
 *   make build && bun bench/soak.ts [GB]        (make soak GB=N)
 */
import { connect, type MqraftClient, type Subscription } from "../src/client/index.ts";
import { TestCluster } from "../test/support/cluster.ts";
import { mib, type ProcessMemory, processMemory } from "../test/support/process-memory.ts";
import { waitFor } from "../test/support/wait.ts";

const gigabytes = Number(process.argv[2] ?? 1);
if (!(gigabytes > 0)) throw new Error(`expected a positive number of GB, got ${process.argv[2]}`);
const TOTAL_BYTES = gigabytes * 1e9;
/**
 * One round: as many 10 KB as 128 B messages, published at the same time. With no retention limit every message
 * stays in the index (24 bytes each, docs/memory.md): that part of the growth is state, not a leak, and is kept
 * small beside the volume by not making most messages tiny.
 */
const ROUND = { big: { msgs: 5_000, size: 10_000 }, small: { msgs: 5_000, size: 128 } };
const ROUND_BYTES = ROUND.big.msgs * ROUND.big.size + ROUND.small.msgs * ROUND.small.size;
const ROUNDS = Math.max(2, Math.round(TOTAL_BYTES / ROUND_BYTES));
const TOPICS = ["soak.big", "soak.small"];
const SAMPLE_MS = 10_000;
/** How often the peaks are read (not printed): a half's publishing may take less than SAMPLE_MS on a quiet machine. */
const PEAK_MS = 1_000;
const WINDOW = 200;
const SETTLE_SECONDS = 30;

const started = performance.now();
const elapsed = (): string => `${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s`;

/** Reads a subscription in the background, counting what arrives; a durable one acks every message. */
function reader(subscription: Subscription, acking: boolean): { count: number; failure: unknown } {
  const state = { count: 0, failure: undefined as unknown };
  void (async () => {
    for await (const m of subscription) {
      state.count++;
      if (acking) subscription.ack(m).catch((e) => (state.failure ??= e));
    }
  })().catch((e) => (state.failure = e));
  return state;
}

/**
 * One round from two long-lived clients, one per message size, each with WINDOW publishes in flight. Long-lived on
 * purpose: every new client is a new producer, which the dedup window remembers for two minutes (docs/memory.md).
 */
async function publishRound(big: MqraftClient, small: MqraftClient): Promise<void> {
  const run = async (client: MqraftClient, topic: string, msgs: number, size: number) => {
    const payload = new Uint8Array(size).fill(97);
    let next = 0;
    const worker = async () => {
      while (next < msgs) {
        next++;
        await client.publish(topic, payload);
      }
    };
    await Promise.all(Array.from({ length: WINDOW }, worker));
  };
  await Promise.all([
    run(big, "soak.big", ROUND.big.msgs, ROUND.big.size),
    run(small, "soak.small", ROUND.small.msgs, ROUND.small.size),
  ]);
}

function sample(cluster: TestCluster, label: string): ProcessMemory[] {
  const figures = cluster.brokers.map((b) => processMemory(b.proc?.pid ?? -1));
  const cells = figures.map((m, i) => `broker ${i + 1} rss ${mib(m.rss)} anon ${mib(m.anonymous)}`);
  console.log(`${elapsed()} ${label.padEnd(26)} ${cells.join(" | ")}`);
  return figures;
}

/**
 * Each topic keeps the messages of an eighth of the run. The index (24 bytes a message) holds them in columns that
 * double while more than half full, so with retention sliding the range it settles at up to four times that, which
 * takes about four times the retained count of appends: by half the run the retained state has its final size, and
 * growth over the second half is what the broker keeps and should not.
 */
const RETAIN = Math.floor((ROUNDS * ROUND.big.msgs) / 8);
const SNAPSHOT_EVERY = 2_000;
const cluster = await TestCluster.create({
  nodes: 3,
  heartbeatMs: 100,
  electionMs: 1000,
  // snapshots from early on, so that the one a broker keeps (views of its index, up to a second copy of it) is there
  // in both halves rather than appearing in the second as if it were growth
  argsFor: () => ["--retain-messages", String(RETAIN), "--snapshot-every", String(SNAPSHOT_EVERY)],
});
const clients: MqraftClient[] = [];
let timer: Timer | undefined;
let peakTimer: Timer | undefined;
try {
  await cluster.waitForLeader(20_000);
  console.log(
    `soak: ${ROUNDS} rounds of ${(ROUND_BYTES / 1e6).toFixed(1)} MB (${ROUND.big.msgs} x ${ROUND.big.size} B + ` +
      `${ROUND.small.msgs} x ${ROUND.small.size} B), ${((ROUNDS * ROUND_BYTES) / 1e9).toFixed(2)} GB in all, 3 brokers, ` +
      `--retain-messages ${RETAIN} (an eighth of the run per topic), --snapshot-every ${SNAPSHOT_EVERY}`,
  );
  const bigClient = await connect({ servers: cluster.addresses, timeoutMs: 30_000, window: WINDOW });
  const smallClient = await connect({ servers: cluster.addresses, timeoutMs: 30_000, window: WINDOW });
  const readerClient = await connect({ servers: cluster.addresses, timeoutMs: 30_000 });
  const durableClient = await connect({ servers: cluster.addresses, timeoutMs: 30_000 });
  clients.push(bigClient, smallClient, readerClient, durableClient);
  const along = reader(await readerClient.subscribe(TOPICS, { from: "earliest" }), false);
  const durable = reader(await durableClient.subscribe(TOPICS, { from: "earliest", durable: "soak" }), true);
  const start = sample(cluster, "start");
  let published = 0;
  let peak = start.map((m) => m.anonymous);
  const atPeak = (now: ProcessMemory[]) => {
    peak = peak.map((p, i) => Math.max(p, now[i]?.anonymous ?? 0));
  };
  timer = setInterval(() => atPeak(sample(cluster, `${(published / 1e6).toFixed(0)} MB published`)), SAMPLE_MS);
  peakTimer = setInterval(() => atPeak(cluster.brokers.map((b) => processMemory(b.proc?.pid ?? -1))), PEAK_MS);

  /** Publishing paused: waits until both subscribers have read everything, then each broker's lowest over 30 s idle. */
  const settle = async (label: string): Promise<ProcessMemory[]> => {
    const expected = (published / ROUND_BYTES) * (ROUND.big.msgs + ROUND.small.msgs);
    await waitFor(
      "both subscribers to read everything published",
      () => {
        for (const r of [along, durable]) if (r.failure !== undefined) throw r.failure;
        if (along.count >= expected && durable.count >= expected) return true;
        throw new Error(`read ${along.count} and ${durable.count} of ${expected}`);
      },
      { timeoutMs: 300_000, intervalMs: 200 },
    );
    // the lowest figure over an idle spell: what is left once the collector and the allocator have caught up
    const lowest = cluster.brokers.map(() => ({ rss: Number.POSITIVE_INFINITY, anonymous: Number.POSITIVE_INFINITY }));
    for (let s = 0; s < SETTLE_SECONDS; s++) {
      await Bun.sleep(1000);
      cluster.brokers.forEach((b, i) => {
        const now = processMemory(b.proc?.pid ?? -1);
        if (now.anonymous < (lowest[i] as ProcessMemory).anonymous) lowest[i] = now;
      });
    }
    const cells = lowest.map((m, i) => `broker ${i + 1} rss ${mib(m.rss)} anon ${mib(m.anonymous)}`);
    console.log(`${elapsed()} ${label.padEnd(26)} ${cells.join(" | ")}`);
    return lowest;
  };

  let half: ProcessMemory[] = [];
  const halfPeak: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    await publishRound(bigClient, smallClient);
    published += ROUND_BYTES;
    if (round === Math.floor(ROUNDS / 2)) {
      atPeak(sample(cluster, `${(published / 1e6).toFixed(0)} MB published, done`));
      half = await settle(`half (${(published / 1e6).toFixed(0)} MB), idle low`);
      halfPeak.push(...peak);
      peak = half.map((m) => m.anonymous);
    }
  }
  atPeak(sample(cluster, `${(published / 1e6).toFixed(0)} MB published, done`));
  clearInterval(timer);
  clearInterval(peakTimer);
  const end = await settle(`end (${(published / 1e6).toFixed(0)} MB), idle low`);
  console.log(
    `peak anonymous memory, first half: ${halfPeak.map(mib).join(", ")}; second half: ${peak.map(mib).join(", ")}`,
  );
  const growth = end.map((m, i) => (m.anonymous - (half[i]?.anonymous ?? 0)) / (half[i]?.anonymous ?? 1));
  const worst = growth.indexOf(Math.max(...growth));
  const largest = end.reduce((a, m) => Math.max(a, m.anonymous), 0);
  console.log(
    `largest broker growth over the second half: broker ${worst + 1} anonymous ${mib(half[worst]?.anonymous ?? 0)} -> ` +
      `${mib(end[worst]?.anonymous ?? 0)} (${((growth[worst] ?? 0) * 100).toFixed(1)} %); largest broker at the end ${mib(largest)}`,
  );
} finally {
  clearInterval(timer);
  clearInterval(peakTimer);
  await Promise.all(clients.map((c) => c.close().catch(() => {})));
  await cluster.destroy();
}
