import { describe, expect, test } from "bun:test";
import type { PublishMessage } from "../../src/broker/commands.ts";
import type { ColumnReader } from "../../src/broker/snapshot-format.ts";
import { encodeTopic, readTopicV4, restoreTopics } from "../../src/broker/snapshot-topics.ts";
import { BrokerState } from "../../src/broker/state-machine.ts";
import { TopicIndex } from "../../src/broker/topic-index.ts";
import { isMqraftError } from "../../src/util/errors.ts";
import { createPrng, type Prng } from "../../src/util/prng.ts";
import { applyNext, msg, publish, T0 } from "./helpers.ts";

/** A retained message as a list of them holds it: what the index must answer for its offset. */
interface Stored {
  logIndex: number;
  slot: number;
  size: number;
  time: number;
}

/** The index beside the plain list it stands for. */
class Pair {
  index = new TopicIndex("t", 0);
  list: Stored[] = [];
  firstOffset = 0;

  append(m: Stored): void {
    expect(this.index.append(m.logIndex, m.slot, m.size, m.time)).toBe(this.firstOffset + this.list.length);
    this.list.push(m);
  }

  drop(n: number): void {
    const k = Math.min(n, this.list.length);
    for (let i = 0; i < k; i++) this.index.dropHead();
    this.list.splice(0, k);
    this.firstOffset += k;
  }
}

/** Every answer of `t` differing from the list's, as text (empty: none). */
function differences(t: TopicIndex, list: Stored[], firstOffset: number): string[] {
  const out: string[] = [];
  const same = (what: string, got: unknown, expected: unknown) => {
    if (got !== expected) out.push(`${what}: got ${String(got)}, expected ${String(expected)}`);
  };
  same("firstOffset", t.firstOffset, firstOffset);
  same("count", t.count, list.length);
  same(
    "bytes",
    t.bytes,
    list.reduce((n, m) => n + m.size, 0),
  );
  same("runOf below", t.runOf(firstOffset - 1), -1);
  same("runOf past", t.runOf(firstOffset + list.length), -1);
  same("gaps", t.gaps, gapsIn(list));
  same("slots kept", t.slotLow !== undefined, gapsIn(list) > 0);
  if (list.length > 0) {
    same("headLogIndex", t.headLogIndex, list[0]?.logIndex);
    same("headTime", t.headTime, list[0]?.time);
  }
  // forwards (as readers go), skipping ahead (past the run cached and the next), then from the back
  const keys = [...list.keys()];
  const order = [...keys, ...keys.filter((k) => k % 29 === 0), ...keys.reverse()];
  for (const k of order) {
    const m = list[k] as Stored;
    const offset = firstOffset + k;
    const run = t.runOf(offset);
    same(`logIndex of ${offset}`, t.runLogIndex[run], m.logIndex);
    same(`time of ${offset}`, t.runTime[run], m.time);
    same(`slot of ${offset}`, t.slotAt(offset, run), m.slot);
    same(`size of ${offset}`, t.sizeAt(offset), m.size);
  }
  // the first message at or after each time around the messages' own (times never decrease)
  const times = [...new Set(list.flatMap((m) => [m.time - 1, m.time, m.time + 1]))].sort((a, b) => a - b);
  let k = 0;
  for (const time of [0, ...times, Number.MAX_SAFE_INTEGER]) {
    while (k < list.length && (list[k] as Stored).time < time) k++;
    same(`offsetAtTime(${time})`, t.offsetAtTime(time), firstOffset + k);
  }
  return out;
}

/** The topic through a version 4 snapshot's section and back. */
function restored(
  t: TopicIndex,
  appliedIndex: number,
  time: number,
  change: (header: ReturnType<typeof encodeTopic>, columns: Uint8Array[]) => void = () => {},
): TopicIndex {
  const columns: Uint8Array[] = [];
  const header = encodeTopic(t, columns);
  change(header, columns);
  const body = Buffer.concat(columns);
  let at = 0;
  const take: ColumnReader = (count, width) => {
    at += count * width;
    return body.subarray(at - count * width, at);
  };
  const [copy] = restoreTopics([readTopicV4(header, take)], appliedIndex, time);
  return copy as TopicIndex;
}

/** The topic through versions 1 to 3's four columns a message, read into runs. */
function fromMessages(list: Stored[], firstOffset: number, appliedIndex: number, time: number): TopicIndex {
  const bytes = (a: Float64Array | Uint32Array) => new Uint8Array(a.buffer);
  const entry = {
    name: "t",
    firstOffset,
    logIndex: bytes(Float64Array.from(list, (m) => m.logIndex)),
    slot: bytes(Uint32Array.from(list, (m) => m.slot)),
    size: bytes(Uint32Array.from(list, (m) => m.size)),
    time: bytes(Float64Array.from(list, (m) => m.time)),
  };
  return restoreTopics([entry], appliedIndex, time)[0] as TopicIndex;
}

const snapshotBytes = (t: TopicIndex) => Buffer.concat(Object.values(t.snapshotColumns()));

/**
 * One publish entry's messages of the topic: `count` of them at ascending slots from `slot`, consecutive but in one
 * entry of six or so (other topics' messages between them: gaps, which make the index keep each slot).
 */
function entry(prng: Prng, logIndex: number, time: number, slot: number, count: number): Stored[] {
  const out: Stored[] = [];
  const gaps = prng.chance(0.15);
  for (let i = 0; i < count; i++) {
    // now and then one of 65,535 bytes or more: its size is kept apart
    out.push({ logIndex, slot, size: prng.chance(0.05) ? prng.int(65_534, 70_000) : prng.int(0, 3000), time });
    slot += gaps && prng.chance(0.3) ? prng.int(2, 5) : 1;
  }
  return out;
}

/** Pairs of messages next to each other in one run (log index, time, slot's high half) whose slots are not consecutive. */
function gapsIn(list: Stored[]): number {
  let gaps = 0;
  for (let k = 1; k < list.length; k++) {
    const [a, b] = [list[k - 1] as Stored, list[k] as Stored];
    const oneRun = a.logIndex === b.logIndex && a.time === b.time && a.slot >>> 16 === b.slot >>> 16;
    if (oneRun && b.slot !== a.slot + 1) gaps++;
  }
  return gaps;
}

describe("the topic index in runs", () => {
  for (const seed of [1, 2, 3]) {
    test(`answers as a list of messages through appends, drops mid-run, snapshots and restores (seed ${seed})`, () => {
      const prng = createPrng(seed);
      let pair = new Pair();
      let logIndex = 0;
      let time = T0;
      const views: { parts: Uint8Array[]; bytes: Buffer }[] = [];
      for (let step = 0; step < 200; step++) {
        logIndex += prng.int(1, 3);
        if (prng.chance(0.7)) time += prng.int(1, 50); // else the same time as the entry before: runs still split
        const shape = prng.int(0, 9);
        // one message an entry; a batch; a batch around slot 65536 (its high half changes inside the entry)
        const count = shape < 4 ? 1 : prng.int(2, 40);
        const slot = shape === 9 ? 65_536 - prng.int(0, 20) : prng.int(0, 30);
        for (const m of entry(prng, logIndex, time, slot, count)) pair.append(m);
        if (prng.chance(0.3)) pair.drop(prng.int(1, prng.chance(0.1) ? 500 : 15));
        if (prng.chance(0.1)) {
          const parts = Object.values(pair.index.snapshotColumns());
          views.push({ parts, bytes: Buffer.concat(parts) });
        }
        if (prng.chance(0.05)) {
          const copy = restored(pair.index, logIndex, time);
          expect(snapshotBytes(copy).equals(snapshotBytes(pair.index))).toBe(true);
          const old = fromMessages(pair.list, pair.firstOffset, logIndex, time);
          expect(snapshotBytes(old).equals(snapshotBytes(pair.index))).toBe(true);
          const next = new Pair();
          Object.assign(next, { index: copy, list: pair.list, firstOffset: pair.firstOffset });
          pair = next;
        }
        if (step % 4 === 0) expect(differences(pair.index, pair.list, pair.firstOffset)).toEqual([]);
      }
      expect(views.length).toBeGreaterThan(8);
      const changed = views.flatMap((v, i) => (Buffer.concat(v.parts).equals(v.bytes) ? [] : [i]));
      expect(changed).toEqual([]);
    });
  }

  test("a run whose only gap is dropped gives its slots back from its first retained one", () => {
    const pair = new Pair();
    for (const slot of [0, 5, 6, 7]) pair.append({ logIndex: 3, slot, size: 1, time: T0 });
    for (const slot of [2, 3]) pair.append({ logIndex: 4, slot, size: 1, time: T0 });
    expect(pair.index.gaps).toBe(1);
    pair.drop(1);
    expect(pair.index.slotLow).toBeUndefined();
    expect(differences(pair.index, pair.list, pair.firstOffset)).toEqual([]);
    const copy = restored(pair.index, 4, T0);
    expect(differences(copy, pair.list, pair.firstOffset)).toEqual([]);
    expect(snapshotBytes(copy).equals(snapshotBytes(pair.index))).toBe(true);
  });

  test("a version 4 topic that storing its messages again would not make is refused as damaged", () => {
    const dense = new Pair();
    for (const slot of [65_530, 65_531, 65_532]) dense.append({ logIndex: 2, slot, size: 1, time: T0 });
    const refusal = (change: Parameters<typeof restored>[3]) => {
      try {
        restored(dense.index, 2, T0, change);
        return "restored";
      } catch (e) {
        return isMqraftError(e, "CORRUPT") ? "CORRUPT" : String(e);
      }
    };
    const lows = new Uint8Array(new Uint16Array([65_530, 65_531, 65_532]).buffer);
    expect({
      untouched: refusal(() => {}),
      "slots kept without a gap": refusal((h, c) => {
        h.lowSlots = true;
        c[5] = lows;
      }),
      "a run across slot 65,536": refusal((h) => {
        h.headSlot = 65_534;
      }),
      "a run's first slot not its first message's": refusal((h, c) => {
        h.lowSlots = true;
        c[5] = new Uint8Array(new Uint16Array([65_531, 65_533, 65_534]).buffer);
      }),
    }).toEqual({
      untouched: "restored",
      "slots kept without a gap": "CORRUPT",
      "a run across slot 65,536": "CORRUPT",
      "a run's first slot not its first message's": "CORRUPT",
    });
  });

  test("a run longer than 65,536 slots splits where the slot's high half changes, and is cut and restored", () => {
    const pair = new Pair();
    for (let slot = 0; slot < 70_000; slot++) pair.append({ logIndex: 7, slot, size: 1, time: T0 });
    expect(pair.index.runs).toBe(2);
    pair.drop(30_000); // into the middle of the first run, of 65,536
    expect(pair.index.runs).toBe(2);
    expect(differences(pair.index, pair.list, pair.firstOffset)).toEqual([]);
    const copy = restored(pair.index, 7, T0);
    expect(differences(copy, pair.list, pair.firstOffset)).toEqual([]);
    expect(snapshotBytes(copy).equals(snapshotBytes(pair.index))).toBe(true);
  });

  test("a batched topic costs under 4 bytes a message, one message an entry under 40", () => {
    const batched = new TopicIndex("t", 0);
    const single = new TopicIndex("u", 1);
    for (let i = 0; i < 100_000; i++) {
      batched.append(1 + Math.floor(i / 100), i % 100, 128, T0);
      single.append(1 + i, 0, 128, T0 + i);
    }
    const bytes = (t: TopicIndex) =>
      [t.size, t.slotLow, t.runStart, t.runLogIndex, t.runTime, t.runSlot].reduce(
        (n, c) => n + (c?.byteLength ?? 0),
        0,
      );
    expect(bytes(batched) / batched.count).toBeLessThan(4);
    expect(bytes(single) / single.count).toBeLessThan(40);
  });
});

describe("the state machine cuts runs in the middle", () => {
  const batch = (topic: string, n: number, extras: Partial<PublishMessage> = {}): PublishMessage[] =>
    Array.from({ length: n }, (_, i) => ({ ...msg(topic, `m${i}`), ...extras }));

  /** Where each retained message of `t` is, and the state machine's answers after a restore. */
  const where = (state: BrokerState, t: string) => {
    const all = state.scan(t, 0, 1000);
    const copy = BrokerState.restore(state.snapshot());
    expect(copy.scan(t, 0, 1000)).toEqual(all);
    expect(Buffer.from(copy.snapshot()).equals(Buffer.from(state.snapshot()))).toBe(true);
    return all.map((m) => [m.offset, m.index, m.slot]);
  };

  test("by a count limit, a purge and a TTL, each keeping the rest of the run", () => {
    const state = new BrokerState();
    applyNext(state, { type: "config", time: T0, retention: { maxMessages: 7 } });
    publish(state, T0, ...batch("t", 5)); // entry 2: offsets 0-4
    publish(state, T0 + 1, msg("u"), ...batch("t", 5)); // entry 3: offsets 5-9 at slots 1-5
    expect(where(state, "t")).toEqual([3, 4, 5, 6, 7, 8, 9].map((o) => [o, o < 5 ? 2 : 3, o < 5 ? o : o - 4]));
    applyNext(state, { type: "purge", time: T0 + 2, topic: "t", keep: 3 });
    expect(where(state, "t")).toEqual([7, 8, 9].map((o) => [o, 3, o - 4]));
    publish(state, T0 + 3, ...batch("v", 2, { ttl: 10 }), ...batch("v", 2)); // entry 5: two expire, two stay
    applyNext(state, { type: "tick", time: T0 + 20 });
    expect(where(state, "v")).toEqual([
      [2, 5, 2],
      [3, 5, 3],
    ]);
    expect(state.offsetAtTime("v", T0)).toBe(2);
    expect(state.locate("v", 1)).toBe("dropped");
    expect(state.locate("v", 3)).toEqual({ index: 5, slot: 3 });
  });
});
