/**
 * Throughput and memory of the broker state machine alone (no Raft, no disk, no network).
 * Run: CBOR_NATIVE_ACCELERATION_DISABLED=true node_modules/.bin/bun bench/state-machine-bench.ts
 *
 * 1. apply(): 128-byte messages in publish entries of 100, over 10 topics, each with a producer
 *    id and seq (so the dedup window is exercised); without retention, then with a count limit
 *    low enough that every message stored drops an old one.
 * 2. decodeEntryMessages(), which the node calls to read stored messages back from the log, and the index's reads:
 *    scan (a subscription's feed), locate at random offsets, offsetAtTime.
 * 3. Memory of the state machine with 1,000,000 retained messages (heap growth, forced GC): the index's bytes a
 *    message (the state machine also holds the dedup window's 20 bytes a remembered seq).
 * 4. snapshotParts() (views of the columns), joining them, and restore() of that state.
 */
import { heapStats } from "bun:jsc";
import { decodeEntryMessages, encodeCommand } from "../src/broker/command-codec.ts";
import type { PublishMessage } from "../src/broker/commands.ts";
import { BrokerState } from "../src/broker/state-machine.ts";

const PAYLOAD = new Uint8Array(128).fill(42);
const BATCH = 100;
const TOPICS = 10;

function makeEntries(count: number, producers: number): Uint8Array[] {
  const entries: Uint8Array[] = [];
  let seq = 0;
  for (let e = 0; e < count; e++) {
    const messages: PublishMessage[] = [];
    for (let i = 0; i < BATCH; i++) {
      messages.push({
        topic: `topic-${i % TOPICS}`,
        data: PAYLOAD,
        producer: `producer-${seq % producers}`,
        seq: seq++,
      });
    }
    // Copy: cbor-x returns views into one shared buffer, and the bench keeps thousands of entries.
    entries.push(Uint8Array.from(encodeCommand({ type: "publish", time: 1_700_000_000_000 + e, messages })));
  }
  return entries;
}

/** JSC's heap size, which includes the memory behind typed arrays. */
function heapBytes(): number {
  Bun.gc(true);
  return heapStats().heapSize;
}

function applyRate(entries: Uint8Array[], rounds: number, config?: Uint8Array): number {
  let best = 0;
  for (let r = 0; r < rounds; r++) {
    const state = new BrokerState();
    if (config !== undefined) state.apply(1, config);
    const started = performance.now();
    for (let i = 0; i < entries.length; i++) state.apply(i + 2, entries[i] as Uint8Array);
    const seconds = (performance.now() - started) / 1000;
    best = Math.max(best, (entries.length * BATCH) / seconds);
  }
  return best;
}

const entries = makeEntries(10_000, 4);

// Memory first, before the throughput runs leave garbage behind.
const before = heapBytes();
const state = new BrokerState();
for (let i = 0; i < entries.length; i++) state.apply(i + 1, entries[i] as Uint8Array);
const retained = state.topics().reduce((n, t) => n + (state.topicInfo(t)?.messages ?? 0), 0);
const after = heapBytes();
console.log(
  `memory: ${((after - before) / 1e6).toFixed(1)} MB for ${retained.toLocaleString("en-US")} retained messages (${((after - before) / retained).toFixed(1)} bytes each)`,
);

const entrySize = (entries[0] as Uint8Array).byteLength;
console.log(
  `entry: ${BATCH} messages of ${PAYLOAD.length} bytes, ${entrySize} bytes encoded (${(entrySize / BATCH).toFixed(1)} per message)`,
);
const total = (entries.length * BATCH).toLocaleString("en-US");
const rate = (n: number) => Math.round(n).toLocaleString("en-US");
console.log(`apply: ${rate(applyRate(entries, 5))} messages/s (best of 5 runs of ${total})`);
const limit = encodeCommand({ type: "config", time: 0, retention: { maxMessages: 10_000 } });
console.log(`apply, retention by count (10,000 a topic): ${rate(applyRate(entries, 5, limit))} messages/s`);

let started = performance.now();
let read = 0;
for (const entry of entries) read += decodeEntryMessages(entry).length;
console.log(`decodeEntryMessages: ${rate(read / ((performance.now() - started) / 1000))} messages/s`);

/** The best of three rounds of `read` (which returns how many it read), in reads a second. */
function readRate(read: () => number): string {
  let best = 0;
  for (let round = 0; round < 3; round++) {
    const at = performance.now();
    const n = read();
    best = Math.max(best, n / ((performance.now() - at) / 1000));
  }
  return rate(best);
}
const names = state.topics();
const scanAll = (): number => {
  let n = 0;
  for (const t of names) {
    const { firstOffset, nextOffset } = state.topicInfo(t) ?? { firstOffset: 0, nextOffset: 0 };
    for (let o = firstOffset; o < nextOffset; o += 1000) n += state.scan(t, o, 1000).length;
  }
  return n;
};
console.log(`scan (1,000 at a time, as a subscription reads): ${readRate(scanAll)} messages/s`);
const locateRandom = (): number => {
  let seed = 1;
  for (let i = 0; i < 1_000_000; i++) {
    seed = (seed * 48271) % 2147483647;
    const where = state.locate(names[seed % TOPICS] as string, seed % (retained / TOPICS));
    if (where === "dropped" || where === "future") throw new Error("a retained message was not found");
  }
  return 1_000_000;
};
console.log(`locate (random offsets): ${readRate(locateRandom)} lookups/s`);
const atTime = (): number => {
  for (let i = 0; i < 1_000_000; i++) state.offsetAtTime(names[i % TOPICS] as string, 1_700_000_000_000 + (i % 10_000));
  return 1_000_000;
};
console.log(`offsetAtTime (binary search): ${readRate(atTime)} lookups/s`);

started = performance.now();
const parts = state.snapshotParts();
const partsMs = performance.now() - started;
started = performance.now();
const snapshot = Buffer.concat(parts);
const joinMs = performance.now() - started;
started = performance.now();
const restored = BrokerState.restore(snapshot);
const restoreMs = performance.now() - started;
if (restored.appliedIndex !== state.appliedIndex) throw new Error("restore lost the applied index");
console.log(
  `snapshot: ${(snapshot.byteLength / 1e6).toFixed(1)} MB in ${parts.length} pieces taken in ${partsMs.toFixed(1)} ms (views); joining them into one buffer ${joinMs.toFixed(0)} ms; restore in ${restoreMs.toFixed(0)} ms`,
);
