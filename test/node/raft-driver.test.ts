import { describe, expect, test } from "bun:test";
import { RaftDriver } from "../../src/node/raft-driver.ts";
import { bootstrap, type Entry, EntryKind, type Message, RaftNode } from "../../src/raft/index.ts";
import { MemoryLog } from "../../src/raft/memory-log.ts";
import { createPrng } from "../../src/util/prng.ts";
import { bytes, members } from "../raft/harness.ts";

/** Follower 2 of a founded 3-voter cluster, on a log whose fsyncs end only when the test says so. */
function follower() {
  const boot = bootstrap(members([1, 2, 3]));
  const log = new MemoryLog();
  log.append(boot.entries);
  const events: string[] = [];
  const syncs: (() => void)[] = [];
  const deferred: (() => void)[] = [];
  const storage = Object.assign(log, {
    saveHardState: () => {},
    sync: () => new Promise<void>((resolve) => syncs.push(resolve)),
  });
  const raft = new RaftNode({ id: 2, prng: createPrng(1) }, log, boot.hardState);
  const driver = new RaftDriver(
    raft,
    storage,
    {
      send: (messages: Message[]) => {
        for (const m of messages) if (m.type === "appendResponse") events.push(`send ack ${m.index}`);
      },
      apply: (entries: Entry[]) => events.push(`apply ${entries.map((e) => e.index).join(",")}`),
      advanced: () => events.push(`advanced, core applied ${raft.appliedIndex}`),
      installSnapshot: () => Promise.reject(new Error("no snapshot in this test")),
      fatal: (e: unknown) => events.push(`fatal ${String(e)}`),
    },
    boot.hardState,
    (fn) => deferred.push(fn),
  );
  /** Runs deferred work and whatever it awaits, until nothing is left but fsyncs in progress. */
  const settle = async () => {
    for (let i = 0; i < 20; i++) {
      for (const fn of deferred.splice(0)) fn();
      await Bun.sleep(0);
    }
  };
  const endSync = async () => {
    const done = syncs.shift();
    if (done === undefined) throw new Error("no fsync in progress");
    done();
    await settle();
  };
  const entry = (index: number): Entry => ({ index, term: 2, kind: EntryKind.Normal, data: bytes(index) });
  const append = (prev: number, prevTerm: number, entries: Entry[], commit: number): Message => ({
    type: "append",
    from: 1,
    to: 2,
    term: 2,
    index: prev,
    logTerm: prevTerm,
    entries,
    commit,
  });
  return { driver, events, settle, endSync, entry, append, syncsInProgress: () => syncs.length };
}

describe("RaftDriver on a follower", () => {
  test("applies entries the leader says are committed without waiting for the fsync of new entries that came with the news", async () => {
    const f = follower();
    f.driver.withCore(() => {});
    await f.settle();
    expect(f.events).toEqual(["apply 1,2,3,4,5,6", "advanced, core applied 6"]);
    f.events.length = 0;

    f.driver.step(f.append(6, 1, [f.entry(7)], 6));
    await f.settle();
    expect(f.events).toEqual([]);
    await f.endSync();
    expect(f.events).toEqual(["send ack 7", "advanced, core applied 6"]);
    f.events.length = 0;

    // Entry 7 committed, entry 8 new: 7 is on a majority's disks already, so it is applied at once;
    // the acknowledgement of 8 waits for the fsync, and the core learns of the apply after it.
    f.driver.step(f.append(7, 2, [f.entry(8)], 7));
    await f.settle();
    expect([f.events, f.syncsInProgress()]).toEqual([["apply 7"], 1]);
    await f.endSync();
    expect(f.events).toEqual(["apply 7", "send ack 8", "advanced, core applied 7"]);
  });
});
