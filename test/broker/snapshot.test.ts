import { describe, expect, test } from "bun:test";
import { encodeCommand } from "../../src/broker/command-codec.ts";
import type { Command } from "../../src/broker/commands.ts";
import { joinSnapshot, type SnapshotHeader, splitSnapshot } from "../../src/broker/snapshot-codec.ts";
import { BrokerState } from "../../src/broker/state-machine.ts";
import { Encoder } from "../../src/util/cbor-x.ts";
import { isMqraftError } from "../../src/util/errors.ts";
import { createPrng } from "../../src/util/prng.ts";
import { applyNext, msg, T0 } from "./helpers.ts";

const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });

/** A version 4 snapshot's column bytes, cut by the header's counts (topics' six, then producers' three). */
function columnsOf(header: V4Header, body: Uint8Array): Uint8Array[] {
  const widths = [
    ...header.topics.flatMap((t) => [
      8 * t.runs,
      8 * t.runs,
      8 * Math.max(0, t.runs - 1),
      4 * Math.max(0, t.runs - 1),
      2 * t.count,
      t.lowSlots ? 2 * t.count : 0,
    ]),
    ...header.producers.flatMap((p) => [8, 4, 8].map((w) => w * p.count)),
  ];
  let at = 0;
  return widths.map((length) => {
    at += length;
    return body.subarray(at - length, at);
  });
}

type V4Header = Extract<SnapshotHeader, { version: 4 }>;

/** A new snapshot's header and columns. */
function splitV4(bytes: Uint8Array): { header: V4Header; columns: Uint8Array[] } {
  const split = splitSnapshot(bytes);
  if (split === undefined) throw new Error("a new snapshot has no header");
  const header = split.header as V4Header;
  if (header.version !== 4) throw new Error(`a new snapshot is version ${header.version}, expected 4`);
  return { header, columns: columnsOf(header, split.body) };
}

/**
 * A topic's four columns a message as versions 1 to 3 hold them (logIndex, slot, size, time), from its six in a
 * version 4 snapshot: written out message by message, as the old index kept them.
 */
function messageColumns(t: V4Header["topics"][number], six: Uint8Array[]): Uint8Array[] {
  const [logIndex, time, start, slot, size, slotLow] = six.map((c) => new Uint8Array(c)) as Uint8Array[] & {
    length: 6;
  };
  const runLog = new Float64Array((logIndex as Uint8Array).buffer);
  const runTime = new Float64Array((time as Uint8Array).buffer);
  const runStart = [t.firstOffset, ...new Float64Array((start as Uint8Array).buffer), t.firstOffset + t.count];
  const firstSlot = [t.headSlot ?? 0, ...new Uint32Array((slot as Uint8Array).buffer)];
  const low = t.lowSlots ? new Uint16Array((slotLow as Uint8Array).buffer) : undefined;
  const out = {
    logIndex: new Float64Array(t.count),
    slot: new Uint32Array(t.count),
    size: Uint32Array.from(new Uint16Array((size as Uint8Array).buffer)),
    time: new Float64Array(t.count),
  };
  for (const [offset, bytes] of t.largeSizes ?? []) out.size[offset - t.firstOffset] = bytes;
  for (let r = 0; r < t.runs; r++) {
    for (let offset = runStart[r] as number; offset < (runStart[r + 1] as number); offset++) {
      const k = offset - t.firstOffset;
      out.logIndex[k] = runLog[r] as number;
      out.time[k] = runTime[r] as number;
      const first = firstSlot[r] as number;
      out.slot[k] =
        low === undefined ? first + offset - (runStart[r] as number) : first - (first % 0x10000) + (low[k] as number);
    }
  }
  const bytes = (a: Float64Array | Uint32Array) => new Uint8Array(a.buffer);
  return [bytes(out.logIndex), bytes(out.slot), bytes(out.size), bytes(out.time)];
}

const joined = (header: SnapshotHeader, columns: Uint8Array[]): Uint8Array =>
  Buffer.concat(joinSnapshot(header, columns));

/** Every query's answer, to compare two states by what they say. */
function observe(state: BrokerState) {
  return {
    appliedIndex: state.appliedIndex,
    time: state.time,
    retention: state.retention(),
    lowestNeededIndex: state.lowestNeededIndex(),
    durables: state.durables(),
    topics: state.topics().map((t) => ({ name: t, info: state.topicInfo(t), messages: state.scan(t, 0, 1_000_000) })),
  };
}

function busyState(): { state: BrokerState; later: Command[] } {
  const state = new BrokerState();
  const commands: Command[] = [
    { type: "config", time: T0, retention: { maxMessages: 50, maxAgeMs: 60_000 } },
    { type: "subscribe", time: T0, name: "s1", topics: ["a", "b"], from: "earliest" },
  ];
  for (let i = 0; i < 40; i++) {
    commands.push({
      type: "publish",
      time: T0 + i * 1000,
      messages: Array.from({ length: 5 }, (_, j) =>
        msg(["a", "b", "c"][(i + j) % 3] as string, `${i}.${j}`, `p${j % 2}`, i * 5 + j),
      ),
    });
    if (i % 7 === 0) commands.push({ type: "ack", time: T0 + i * 1000, name: "s1", topic: "a", offset: i });
  }
  for (const [i, c] of commands.entries()) state.apply(i + 1, encodeCommand(c));
  const later: Command[] = [
    { type: "publish", time: T0 + 41_000, messages: [msg("a", "retry", "p0", 3), msg("d", "new", "p9", 0)] },
    { type: "publish", time: T0 + 90_000, messages: [msg("b", "aging")] },
    { type: "subscribe", time: T0 + 90_000, name: "s2", topics: ["c"], from: "latest" },
    { type: "unsubscribe", time: T0 + 91_000, name: "s1" },
    { type: "publish", time: T0 + 400_000, messages: [msg("a", "late", "p0", 3), msg("a", "late", "p1", 500)] },
  ];
  return { state, later };
}

describe("snapshot and restore", () => {
  test("restore(snapshot(x)) answers every query as x does and snapshots to the same bytes", () => {
    const { state } = busyState();
    const bytes = state.snapshot();
    const restored = BrokerState.restore(bytes);
    expect(observe(restored)).toEqual(observe(state));
    expect(Buffer.from(restored.snapshot()).equals(Buffer.from(bytes))).toBe(true);
  });

  test("after a restore both go on to give the same results and the same state", () => {
    const { state, later } = busyState();
    const restored = BrokerState.restore(state.snapshot());
    for (const command of later) {
      const index = state.appliedIndex + 1;
      const data = encodeCommand(command);
      expect(restored.apply(index, data)).toEqual(state.apply(index, data));
    }
    expect(observe(restored)).toEqual(observe(state));
    expect(Buffer.from(restored.snapshot()).equals(Buffer.from(state.snapshot()))).toBe(true);
    // The sequence above exercised dedup, age retention, subscribe and unsubscribe after the restore.
    expect(state.durable("s1")).toBeUndefined();
    expect(state.topicInfo("d")).toEqual({ firstOffset: 1, nextOffset: 1, bytes: 0, messages: 0 });
  });

  test("an empty state round-trips", () => {
    const state = new BrokerState();
    const restored = BrokerState.restore(state.snapshot());
    expect(observe(restored)).toEqual(observe(state));
  });

  test("bytes that are not a snapshot are refused as CORRUPT", () => {
    const { state } = busyState();
    const { header, columns } = splitV4(state.snapshot());
    const first = header.topics[0] as V4Header["topics"][number];
    expect(first.runs).toBeGreaterThan(2);
    const reversed = new Float64Array(new Uint8Array(columns[0] as Uint8Array).buffer).reverse();
    const f64 = (values: number[]) => new Uint8Array(new Float64Array(values).buffer);
    const withColumn = (at: number, bytes: Uint8Array) => columns.map((c, i) => (i === at ? bytes : c));
    const starts = [...new Float64Array(new Uint8Array(columns[2] as Uint8Array).buffer)];
    const topics = (t: V4Header["topics"][number]) => [t, ...header.topics.slice(1)];
    const cases: [string, Uint8Array][] = [
      ["version", joined({ ...header, version: 6 } as unknown as SnapshotHeader, columns)],
      ["missing field", joined({ ...header, durables: undefined as never }, columns)],
      ["column length", joined({ ...header, topics: topics({ ...first, count: first.count + 1 }) }, columns)],
      ["runs without messages", joined({ ...header, topics: topics({ ...first, runs: first.count + 1 }) }, columns)],
      [
        "a large size where the column has a small one",
        joined({ ...header, topics: topics({ ...first, largeSizes: [[first.firstOffset, 70_000]] }) }, columns),
      ],
      ["bytes after the columns", Buffer.concat([...joinSnapshot(header, columns), new Uint8Array(1)])],
      ["log index order", joined(header, withColumn(0, new Uint8Array(reversed.buffer)))],
      [
        "a run starting before the first offset",
        joined(header, withColumn(2, f64([first.firstOffset, ...starts.slice(1)]))),
      ],
      [
        "a run starting after the last message",
        joined(header, withColumn(2, f64([...starts.slice(0, -1), first.firstOffset + first.count]))),
      ],
      [
        "two runs that are one",
        joined(header, [f64(Array(first.runs).fill(1)), f64(Array(first.runs).fill(T0)), ...columns.slice(2)]),
      ],
      ["duplicate topic", joined({ ...header, topics: [first, first, ...header.topics.slice(2)] }, columns)],
      ["header past the end", state.snapshot().subarray(0, 12)],
      ["not CBOR", new Uint8Array([0xff, 0x00, 0x13])],
    ];
    const refusals = cases.map(([what, bytes]) => {
      try {
        BrokerState.restore(bytes);
        return `${what}: restored`;
      } catch (e) {
        return isMqraftError(e, "CORRUPT") ? `${what}: CORRUPT` : `${what}: ${String(e)}`;
      }
    });
    expect(refusals).toEqual(cases.map(([what]) => `${what}: CORRUPT`));
  });

  /** The producers' columns, after the topics' six each. */
  const producerColumns = (header: V4Header, columns: Uint8Array[]) => columns.slice(header.topics.length * 6);

  test("a version 3 snapshot (four columns a message) is still read, into the runs a version 4 one holds", () => {
    const { state } = busyState();
    const { header, columns } = splitV4(state.snapshot());
    const v3 = {
      ...header,
      version: 3,
      topics: header.topics.map(({ runs: _, ...t }) => t),
    } as unknown as SnapshotHeader;
    const messages = header.topics.flatMap((t, i) => messageColumns(t, columns.slice(i * 6, i * 6 + 6)));
    const restored = BrokerState.restore(joined(v3, [...messages, ...producerColumns(header, columns)]));
    expect(observe(restored)).toEqual(observe(state));
    expect(Buffer.from(restored.snapshot()).equals(Buffer.from(state.snapshot()))).toBe(true);
  });

  test("a version 1 snapshot (one CBOR map, columns as byte strings) is still read", () => {
    const { state } = busyState();
    const { header, columns } = splitV4(state.snapshot());
    const producers = producerColumns(header, columns);
    let at = 0;
    const v1 = {
      ...header,
      version: 1,
      topics: header.topics.map((t, i) => {
        const [logIndex, slot, size, time] = messageColumns(t, columns.slice(i * 6, i * 6 + 6));
        return { name: t.name, firstOffset: t.firstOffset, logIndex, slot, size, time };
      }),
      producers: header.producers.map((p) => ({
        id: p.id,
        lastSeen: p.lastSeen,
        seq: producers[at++],
        topicId: producers[at++],
        offset: producers[at++],
      })),
    };
    const restored = BrokerState.restore(cbor.encode(v1));
    expect(observe(restored)).toEqual(observe(state));
    expect(Buffer.from(restored.snapshot()).equals(Buffer.from(state.snapshot()))).toBe(true);
  });

  for (const seed of [1, 2, 3]) {
    test(`a snapshot's pieces keep their bytes while the state goes on changing (seed ${seed})`, () => {
      // The pieces are views of the live columns: slides, restarts at 0 and out-of-order seqs must not write into them.
      const prng = createPrng(seed);
      const state = new BrokerState();
      applyNext(state, { type: "config", time: T0, retention: { maxMessages: 40 } });
      const taken: { parts: Uint8Array[]; bytes: Buffer }[] = [];
      for (let i = 1; i <= 600; i++) {
        const time = T0 + i * 100;
        if (prng.chance(0.02))
          applyNext(state, {
            type: "config",
            time,
            retention: prng.chance(0.5) ? { maxMessages: prng.int(1, 60) } : { maxAgeMs: prng.int(100, 3000) },
          });
        const messages = Array.from({ length: prng.int(1, 8) }, () =>
          msg(
            prng.pick(["a", "b", "c"]),
            "m",
            `p${prng.int(0, 2)}`,
            prng.chance(0.2) ? prng.int(0, i * 8) : i * 8 + prng.int(0, 7),
          ),
        );
        applyNext(state, { type: "publish", time, messages });
        if (prng.chance(0.1)) {
          const parts = state.snapshotParts();
          taken.push({ parts, bytes: Buffer.concat(parts) });
        }
      }
      expect(taken.length).toBeGreaterThan(30);
      const changed = taken.flatMap((t, i) => (Buffer.concat(t.parts).equals(t.bytes) ? [] : [i]));
      expect(changed).toEqual([]);
      for (const t of taken) BrokerState.restore(t.bytes);
    });
  }
});
