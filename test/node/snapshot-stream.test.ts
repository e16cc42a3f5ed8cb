import { describe, expect, test } from "bun:test";
import { INCOMING_SNAPSHOT, SnapshotFileReceiver } from "../../src/node/snapshot-file-receiver.ts";
import type { ReceivedSnapshot } from "../../src/node/snapshot-received.ts";
import { decodeStream } from "../../src/node/snapshot-stream.ts";
import { TransferLogView } from "../../src/node/snapshot-transfer.ts";
import { type Entry, MemoryLog, type Snapshot, type SnapshotMessage } from "../../src/raft/index.ts";
import { SimFs } from "../../src/storage/sim-fs.ts";
import type { Logger } from "../../src/util/log.ts";

const MEMBERSHIP = { voters: [1, 2, 3], learners: [], addresses: { "1": "a:1", "2": "b:2", "3": "c:3" } };
const PATH = `/data/${INCOMING_SNAPSHOT}`;

/** A log holding entries 1..20 (terms 1 and 2, the no-op of term 2 empty), compacted below 6, with a snapshot at 15. */
function leaderLog(): { log: MemoryLog; view: TransferLogView; snapshot: Snapshot; entries: Entry[] } {
  const log = new MemoryLog();
  const entries: Entry[] = Array.from({ length: 20 }, (_, i) => ({
    index: i + 1,
    term: i < 10 ? 1 : 2,
    kind: 0,
    data: i === 10 ? new Uint8Array(0) : new TextEncoder().encode(`entry ${i + 1} `.repeat(i + 1)),
  }));
  log.append(entries);
  const snapshot: Snapshot = { meta: { index: 15, term: 2, membership: MEMBERSHIP }, data: new Uint8Array([7, 7, 7]) };
  log.saveSnapshot(snapshot);
  log.compact(5);
  return { log, view: new TransferLogView(log), snapshot, entries };
}

function receiver(
  warnings: string[] = [],
  maxBytes?: number,
  errors: string[] = [],
): { fs: SimFs; receiver: SnapshotFileReceiver } {
  const fs = new SimFs();
  fs.mkdir("/data");
  const log: Logger = {
    error: (m: string) => errors.push(m),
    warn: (m: string) => warnings.push(m),
    info() {},
    debug() {},
    trace() {},
    enabled: () => false,
  };
  return { fs, receiver: new SnapshotFileReceiver(fs, PATH, log, maxBytes) };
}

/** Sends the snapshot as the leader's core does, one chunk per answer, letting `tamper` change a chunk on the way. */
function transfer(
  view: TransferLogView,
  snapshot: Snapshot,
  into: SnapshotFileReceiver,
  chunk: number,
  tamper: (m: SnapshotMessage) => SnapshotMessage = (m) => m,
): { result: Snapshot | number; chunks: number } {
  let offset = 0;
  for (let chunks = 1; chunks < 10_000; chunks++) {
    const { data, done } = view.snapshotChunk(snapshot, offset, chunk);
    const m = tamper({ type: "snapshot", from: 1, to: 2, term: 2, meta: snapshot.meta, offset, data, done });
    const got = into.accept(m);
    if (typeof got !== "number" || done) return { result: got, chunks };
    offset = got;
  }
  throw new Error("the transfer never ended");
}

describe("snapshot transfer stream", () => {
  test("chunked through a file, it arrives whole: state, the entries from the first held to the snapshot, and their terms", () => {
    const { view, snapshot, entries } = leaderLog();
    const { fs, receiver: into } = receiver();
    const { result, chunks } = transfer(view, snapshot, into, 64);
    if (typeof result === "number")
      throw new Error(`expected the whole snapshot, the receiver asked for offset ${result}`);
    expect(chunks).toBeGreaterThan(10);
    const got = decodeStream(result.data, "the test's snapshot");
    expect(got.meta).toEqual(snapshot.meta);
    expect(Array.from(got.state)).toEqual([7, 7, 7]);
    expect(got.prevTerm).toBe(1);
    expect(got.entries.map((e) => [e.index, e.term, new TextDecoder().decode(e.data)])).toEqual(
      entries.slice(5, 15).map((e) => [e.index, e.term, new TextDecoder().decode(e.data)]),
    );
    // the transfer stays in a file of its own until it is installed (snapshot-install.ts)
    expect(fs.readdir("/data")).toEqual(["incoming-snapshot-1.tmp"]);
    (result as ReceivedSnapshot).discard();
    expect(fs.readdir("/data")).toEqual([]);
  });

  test("a chunk sent again (a lost answer, a heartbeat's resend) is the same bytes, and a follower resuming mid-way gets the rest", () => {
    const { log, view, snapshot } = leaderLog();
    const whole = new TransferLogView(log).snapshotChunk(snapshot, 0, 100_000).data;
    const first = view.snapshotChunk(snapshot, 0, 50);
    expect(Array.from(view.snapshotChunk(snapshot, 0, 50).data)).toEqual(Array.from(whole.subarray(0, 50)));
    expect(first.done).toBe(false);
    expect(Array.from(view.snapshotChunk(snapshot, 50, 50).data)).toEqual(Array.from(whole.subarray(50, 100)));
    // where no cursor is, the stream is produced again up to the offset asked for
    const resumed = new TransferLogView(log).snapshotChunk(snapshot, 120, 30);
    expect(Array.from(resumed.data)).toEqual(Array.from(whole.subarray(120, 150)));
    const last = new TransferLogView(log).snapshotChunk(snapshot, whole.length - 10, 30);
    expect(last).toEqual({ data: whole.subarray(whole.length - 10), done: true });
  });

  test("a damaged chunk is found once the transfer is complete: refused, the file removed, and asked again from the start", () => {
    const { view, snapshot } = leaderLog();
    const warnings: string[] = [];
    const { fs, receiver: into } = receiver(warnings);
    const { result } = transfer(view, snapshot, into, 64, (m) => {
      if (m.offset !== 128) return m;
      const data = m.data.slice();
      data[5] = (data[5] as number) ^ 1;
      return { ...m, data };
    });
    expect(result).toBe(0);
    expect(warnings.join("\n")).toContain("checksum does not match");
    expect(fs.readdir("/data")).toEqual([]);
    // and the next, sound transfer is taken
    expect(typeof transfer(view, snapshot, into, 64).result).toBe("object");
  });

  test("chunks of another transfer, or out of order, are not written: the receiver answers the offset it needs", () => {
    const { view, snapshot } = leaderLog();
    const { receiver: into } = receiver();
    const c0 = view.snapshotChunk(snapshot, 0, 40);
    const m0: SnapshotMessage = { type: "snapshot", from: 1, to: 2, term: 2, meta: snapshot.meta, offset: 0, ...c0 };
    expect(into.accept(m0)).toBe(40);
    expect(into.accept({ ...m0, offset: 80 })).toBe(40);
    expect(into.accept({ ...m0, from: 3, offset: 40 })).toBe(0);
    // the first chunk again, resent while the second was on its way, does not start over
    expect(into.accept(m0)).toBe(40);
  });

  test("a truncated or foreign stream is refused as corrupt, naming it", () => {
    const { view, snapshot } = leaderLog();
    const whole = view.snapshotChunk(snapshot, 0, 100_000).data;
    expect(() => decodeStream(whole.subarray(0, whole.length - 9), "x.snap")).toThrow(/x.snap is corrupt or truncated/);
    expect(() => decodeStream(new TextEncoder().encode("hello, not a snapshot"), "x.snap")).toThrow(
      /does not start as an mqraft snapshot/,
    );
  });
});
