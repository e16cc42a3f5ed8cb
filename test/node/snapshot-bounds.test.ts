import { describe, expect, test } from "bun:test";
import { INCOMING_SNAPSHOT, SnapshotFileReceiver } from "../../src/node/snapshot-file-receiver.ts";
import { installTransfer } from "../../src/node/snapshot-install.ts";
import { TransferLogView } from "../../src/node/snapshot-transfer.ts";
import { type Entry, MemoryLog, type Snapshot, type SnapshotMessage } from "../../src/raft/index.ts";
import { LogStore } from "../../src/storage/log-store.ts";
import { SimFs } from "../../src/storage/sim-fs.ts";
import type { Logger } from "../../src/util/log.ts";

const MEMBERSHIP = { voters: [1, 2], learners: [], addresses: { "1": "a:1", "2": "b:2" } };
const MIB = 1 << 20;

/** A leader's log of `count` entries of `size` bytes each, with a snapshot at the last; `announce` adds dataBytes. */
function leader(count: number, size: number, announce?: (real: number) => number) {
  const log = new MemoryLog();
  const entries: Entry[] = Array.from({ length: count }, (_, i) => ({
    index: i + 1,
    term: 1,
    kind: 0,
    data: new Uint8Array(size).fill(i + 1),
  }));
  log.append(entries);
  const snapshot: Snapshot = { meta: { index: count, term: 1, membership: MEMBERSHIP }, data: new Uint8Array([1, 2]) };
  log.saveSnapshot(snapshot);
  if (announce !== undefined) {
    Object.assign(log, { dataBytes: (lo: number, hi: number) => announce((hi - lo) * size) });
  }
  return { view: new TransferLogView(log), snapshot, entries };
}

/** A follower's receiver on a simulated disk that records the largest write position and read it saw. */
function follower(maxBytes?: number) {
  const fs = new SimFs();
  fs.mkdir("/data");
  const seen = { fileBytes: 0, largestRead: 0, errors: [] as string[] };
  const write = fs.write.bind(fs);
  fs.write = (fd, data, position) => {
    seen.fileBytes = Math.max(seen.fileBytes, position + data.length);
    write(fd, data, position);
  };
  const read = fs.read.bind(fs);
  fs.read = (fd, buf, position) => {
    seen.largestRead = Math.max(seen.largestRead, buf.length);
    return read(fd, buf, position);
  };
  const log: Logger = {
    error: (m: string) => seen.errors.push(m),
    warn() {},
    info() {},
    debug() {},
    trace() {},
    enabled: () => false,
  };
  const receiver = new SnapshotFileReceiver(fs, `/data/${INCOMING_SNAPSHOT}`, log, maxBytes);
  return { fs, receiver, seen };
}

/** Sends chunks as the leader's core does until the follower has the snapshot or asks for 0 again (a refusal). */
function send(view: TransferLogView, snapshot: Snapshot, into: SnapshotFileReceiver, chunk: number): Snapshot | number {
  let offset = 0;
  for (let chunks = 0; chunks < 100_000; chunks++) {
    const { data, done } = view.snapshotChunk(snapshot, offset, chunk);
    const m: SnapshotMessage = { type: "snapshot", from: 1, to: 2, term: 1, meta: snapshot.meta, offset, data, done };
    const got = into.accept(m);
    if (typeof got !== "number" || got === 0) return got;
    offset = got;
  }
  throw new Error("the transfer never ended");
}

describe("a follower bounds the snapshot transfer it writes to disk", () => {
  test("past --max-snapshot it stops writing, logs why once, and refuses the same transfer again without writing", () => {
    const { view, snapshot } = leader(40, 1000);
    const { fs, receiver, seen } = follower(10_000);
    expect(send(view, snapshot, receiver, 1024)).toBe(0);
    expect(seen.fileBytes).toBeLessThanOrEqual(10_000);
    expect(seen.errors).toHaveLength(1);
    expect(seen.errors[0]).toContain("Refused the snapshot from broker 1 at index 40: it grew past --max-snapshot");
    expect(fs.readdir("/data")).toEqual([]);
    const written = seen.fileBytes;
    seen.fileBytes = 0;
    expect(send(view, snapshot, receiver, 1024)).toBe(0);
    expect(seen.fileBytes).toBe(0);
    expect(seen.errors).toHaveLength(1);
    expect(written).toBeGreaterThan(0);
  });

  test("a transfer whose header announces more than --max-snapshot is refused before its state arrives", () => {
    const { view, snapshot } = leader(40, 1000, (real) => real);
    const { receiver, seen } = follower(20_000);
    expect(send(view, snapshot, receiver, 256)).toBe(0);
    expect(seen.errors[0]).toMatch(/at index 40: it is \d+ bytes, more than --max-snapshot \(20000 bytes\)/);
    expect(seen.fileBytes).toBeLessThanOrEqual(512);
  });

  test("a leader that sends more than its header announced is cut off at the announced size", () => {
    const { view, snapshot } = leader(40, 1000, (real) => real - 5000);
    const { receiver, seen } = follower();
    expect(send(view, snapshot, receiver, 1024)).toBe(0);
    expect(seen.errors[0]).toMatch(/it grew past the \d+ bytes its header announces/);
    expect(seen.fileBytes).toBeLessThan(40 * 1000 - 4000);
  });

  test("an announced transfer within the limits is taken, and installed a section at a time, never read whole", async () => {
    const { view, snapshot, entries } = leader(12, 256 * 1024, (real) => real);
    const { fs, receiver, seen } = follower();
    const got = send(view, snapshot, receiver, MIB);
    if (typeof got === "number")
      throw new Error(`expected the snapshot, the follower asked for ${got}: ${seen.errors}`);
    const store = await LogStore.open({ fs, dir: "/data/node" });
    try {
      const installed = await installTransfer(store, got);
      // 3 MiB arrived; receiving, checking and installing read at most one section of 1 MiB at a time (the whole log
      // read back below, to compare it, is this test's own read)
      if (seen.largestRead > MIB) throw new Error(`expected no read above ${MIB} bytes, one read ${seen.largestRead}`);
      expect(installed.retained).toBe(12);
      expect(Array.from(installed.state.data)).toEqual([1, 2]);
      const log = store.entries(store.firstIndex(), store.lastIndex() + 1);
      expect(log.map((e) => [e.index, e.term, e.data.length, e.data[0]])).toEqual(
        entries.map((e) => [e.index, e.term, e.data.length, e.data[0]]),
      );
      expect(store.snapshot()?.meta.index).toBe(12);
    } finally {
      await store.close();
    }
    expect(fs.readdir("/data").filter((n) => n.startsWith("incoming"))).toEqual([]);
  });
});

describe("a leader's store tells the bytes of entry data it holds from its index", () => {
  test("dataBytes of any range equals the data its entries carry, across segments", async () => {
    const fs = new SimFs();
    const store = await LogStore.open({ fs, dir: "/data/leader", maxSegmentBytes: 4096 });
    try {
      const sizes = Array.from({ length: 60 }, (_, i) => (i * 37) % 500);
      store.append(sizes.map((size, i) => ({ index: i + 1, term: 1 + (i >> 4), kind: 0, data: new Uint8Array(size) })));
      await store.sync();
      const sum = (lo: number, hi: number) => sizes.slice(lo - 1, hi - 1).reduce((n, s) => n + s, 0);
      for (const [lo, hi] of [
        [1, 61],
        [1, 2],
        [5, 9],
        [7, 50],
        [30, 61],
        [60, 61],
        [12, 12],
      ] as const) {
        expect(`${lo}..${hi}: ${store.dataBytes(lo, hi)}`).toBe(`${lo}..${hi}: ${sum(lo, hi)}`);
      }
    } finally {
      await store.close();
    }
  });
});
