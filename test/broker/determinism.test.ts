import { describe, expect, test } from "bun:test";
import { encodeCommand } from "../../src/broker/command-codec.ts";
import type { Command, PublishMessage, Retention } from "../../src/broker/commands.ts";
import type { ApplyResult } from "../../src/broker/results.ts";
import { BrokerState } from "../../src/broker/state-machine.ts";
import { Encoder } from "../../src/util/cbor-x.ts";
import { createPrng, type Prng } from "../../src/util/prng.ts";
import { T0 } from "./helpers.ts";

const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });
const TOPICS = ["t0", "t1", "t2", "t3", "t4", "orders/eu"];
const PRODUCERS = ["p0", "p1", "p2", "p3"];
const NAMES = ["s0", "s1", "s2"];

/**
 * A seeded stream of committed entries: batches over a few topics with producers that retry,
 * subscriptions, acks (some backwards, some beyond the end), retention changes, no-ops, invalid
 * entries and invalid messages, and a leader clock that sometimes goes back.
 */
function entryStream(prng: Prng, count: number): Uint8Array[] {
  const nextSeq = new Map(PRODUCERS.map((p) => [p, 0]));
  let time = T0;
  const entries: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    time = prng.chance(0.1) ? time - prng.int(0, 10_000) : time + prng.int(0, 20_000);
    const roll = prng.next();
    let command: Command | undefined;
    if (roll < 0.6) {
      const messages: PublishMessage[] = [];
      for (let n = prng.int(1, 20); n > 0; n--) {
        const topic = prng.chance(0.02) ? "not a topic" : prng.pick(TOPICS);
        const data = new Uint8Array(prng.int(0, 64)).fill(prng.int(0, 255));
        if (prng.chance(0.15)) {
          messages.push({ topic, data });
          continue;
        }
        const producer = prng.pick(PRODUCERS);
        const next = nextSeq.get(producer) as number;
        const seq = next > 0 && prng.chance(0.2) ? prng.int(Math.max(0, next - 30), next - 1) : next;
        if (seq === next) nextSeq.set(producer, next + 1);
        messages.push({ topic, data, producer, seq });
      }
      command = { type: "publish", time, messages };
    } else if (roll < 0.7) {
      const topics = TOPICS.filter(() => prng.chance(0.4));
      const from = prng.pick(["earliest", "latest", prng.int(0, 50)] as const);
      command = { type: "subscribe", time, name: prng.pick(NAMES), topics: topics.length > 0 ? topics : ["t0"], from };
    } else if (roll < 0.75) {
      command = { type: "unsubscribe", time, name: prng.pick(NAMES) };
    } else if (roll < 0.9) {
      command = { type: "ack", time, name: prng.pick(NAMES), topic: prng.pick(TOPICS), offset: prng.int(0, 120) };
    } else if (roll < 0.94) {
      const retention: Retention = {};
      if (prng.chance(0.5)) retention.maxMessages = prng.int(1, 40);
      if (prng.chance(0.4)) retention.maxBytes = prng.int(1, 2000);
      if (prng.chance(0.4)) retention.maxAgeMs = prng.int(1, 200_000);
      command = { type: "config", time, retention };
    }
    if (command !== undefined) entries.push(encodeCommand(command));
    else if (roll < 0.97) entries.push(new Uint8Array(0));
    else
      entries.push(
        prng.chance(0.5) ? new Uint8Array([0xff, prng.int(0, 255)]) : cbor.encode({ type: "ack", time, name: "" }),
      );
  }
  return entries;
}

/** What must hold of any run: per topic, new offsets are consecutive from 0; a duplicate repeats an earlier result. */
function checkResults(results: ApplyResult[][], entries: Uint8Array[]): void {
  const next = new Map<string, number>();
  const stored = new Set<string>();
  results.forEach((entryResults) => {
    for (const r of entryResults) {
      if (r.type !== "publish") continue;
      const key = `${r.topic}@${r.offset}`;
      if (r.duplicate) {
        expect(stored.has(key)).toBe(true);
        continue;
      }
      expect({ topic: r.topic, offset: r.offset }).toEqual({ topic: r.topic, offset: next.get(r.topic) ?? 0 });
      next.set(r.topic, r.offset + 1);
      stored.add(key);
    }
  });
  expect(entries.length).toBe(results.length);
}

describe("determinism", () => {
  test.each([1, 2, 3, 5, 8, 13, 21, 34])(
    "two replicas fed the same entries (seed %i) agree, also one restored halfway",
    (seed) => {
      const entries = entryStream(createPrng(seed), 600);
      const a = new BrokerState();
      const b = new BrokerState();
      const half = entries.length / 2;
      let c: BrokerState | undefined;
      const resultsA: ApplyResult[][] = [];
      entries.forEach((entry, i) => {
        // Indexes with gaps, as when config-change entries are not passed to the state machine.
        const index = 2 * i + 1;
        const ra = a.apply(index, entry);
        expect(b.apply(index, entry)).toEqual(ra);
        if (i === half) c = BrokerState.restore(a.snapshot());
        else if (c !== undefined) expect(c.apply(index, entry)).toEqual(ra);
        resultsA.push(ra);
      });
      const snapshot = Buffer.from(a.snapshot());
      expect(snapshot.equals(Buffer.from(b.snapshot()))).toBe(true);
      expect(snapshot.equals(Buffer.from((c as BrokerState).snapshot()))).toBe(true);
      checkResults(resultsA, entries);
      for (const topic of a.topics()) {
        const info = a.topicInfo(topic);
        expect(a.scan(topic, 0, 1_000_000).map((m) => m.offset)).toEqual(
          Array.from({ length: info?.messages ?? 0 }, (_, k) => (info?.firstOffset ?? 0) + k),
        );
      }
      // The stream is varied enough to mean something: messages were stored, retried and dropped.
      const flat = resultsA.flat();
      expect(flat.filter((r) => r.type === "publish" && r.duplicate).length).toBeGreaterThan(0);
      expect(flat.filter((r) => r.type === "error").length).toBeGreaterThan(0);
      expect(a.topics().some((t) => (a.topicInfo(t)?.firstOffset ?? 0) > 0)).toBe(true);
    },
  );
});
