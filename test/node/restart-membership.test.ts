/**
 * A broker restarted after a crash at any point must never act on a configuration older than one
 * its core had taken into force: a node that forgets a promotion counts votes with the old voters,
 * and two majorities that do not overlap can then commit different entries at one index.
 */
import { describe, expect, test } from "bun:test";
import { RaftDriver } from "../../src/node/raft-driver.ts";
import {
  bootstrap,
  type ConfChange,
  type Entry,
  EntryKind,
  encodeConfChange,
  type HardState,
  type Membership,
  type Message,
  RaftNode,
} from "../../src/raft/index.ts";
import { MemoryLog } from "../../src/raft/memory-log.ts";
import { createPrng } from "../../src/util/prng.ts";
import { bytes, members } from "../raft/harness.ts";

/** Node `id` of a cluster founded with `founders`, on a log whose fsyncs end only when the test says so. */
function driven(id: number, founders: number[]) {
  const boot = bootstrap(members(founders));
  const log = new MemoryLog();
  log.append(boot.entries);
  let saved: HardState = boot.hardState;
  let durable: HardState = boot.hardState;
  const syncs: (() => void)[] = [];
  const deferred: (() => void)[] = [];
  const storage = Object.assign(log, {
    saveHardState: (hs: HardState) => {
      saved = hs;
    },
    sync: () => {
      const covers = saved;
      return new Promise<void>((resolve) =>
        syncs.push(() => {
          durable = covers;
          resolve();
        }),
      );
    },
  });
  const raft = new RaftNode({ id, prng: createPrng(id) }, log, boot.hardState);
  const driver = new RaftDriver(
    raft,
    storage,
    {
      send: (_: Message[]) => {},
      apply: (_: Entry[]) => {},
      advanced: () => {},
      installSnapshot: () => Promise.reject(new Error("no snapshot in this test")),
      fatal: (e: unknown) => {
        throw e;
      },
    },
    boot.hardState,
    (fn) => deferred.push(fn),
  );
  const settle = async () => {
    for (let i = 0; i < 20; i++) {
      for (const fn of deferred.splice(0)) fn();
      await Bun.sleep(0);
    }
  };
  /** Power loss now: a new core on what is durable, booted as a broker boots, after its first Ready. */
  const restarted = (): Membership => {
    const hs = { ...durable, commit: Math.min(durable.commit, log.lastIndex()) };
    const again = new RaftNode({ id, prng: createPrng(id) }, log, hs);
    while (again.hasReady()) again.advance(again.ready());
    return again.membership;
  };
  /** After every step of `steps`, and after each fsync it started ends, a crash loses no configuration in force. */
  const crashEverywhere = async (steps: (() => void)[]) => {
    const problems: string[] = [];
    const check = (when: string) => {
      const before = driver.raft.membership;
      const after = restarted();
      if (JSON.stringify(after) !== JSON.stringify(before))
        problems.push(`${when}: in force ${JSON.stringify(before)}, after a restart ${JSON.stringify(after)}`);
    };
    for (const [i, step] of steps.entries()) {
      step();
      await settle();
      check(`after step ${i}`);
      for (let done = syncs.shift(); done !== undefined; done = syncs.shift()) {
        done();
        await settle();
        check(`after an fsync of step ${i}`);
      }
    }
    return problems;
  };
  return { driver, crashEverywhere };
}

const config = (index: number, term: number, cc: ConfChange): Entry => ({
  index,
  term,
  kind: EntryKind.Config,
  data: encodeConfChange(cc),
});

describe("a restart keeps the configuration in force", () => {
  test("a follower that applied a promotion still counts the promoted voter after a crash at any point", async () => {
    const f = driven(2, [1, 2, 3]);
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
    const learner = config(8, 2, { op: "addLearner", id: 4, address: "127.0.0.1:8004" });
    const promote = config(9, 2, { op: "promote", id: 4 });
    const problems = await f.crashEverywhere([
      () => f.driver.withCore(() => {}),
      () => f.driver.step(append(6, 1, [{ index: 7, term: 2, kind: EntryKind.Normal, data: bytes(7) }, learner], 6)),
      () => f.driver.step(append(8, 2, [promote], 8)),
      () => f.driver.step(append(9, 2, [], 9)),
    ]);
    expect(f.driver.raft.membership.voters).toEqual([1, 2, 3, 4]);
    expect(problems).toEqual([]);
  });

  test("a leader that applied its own configuration change keeps it after a crash at any point", async () => {
    const l = driven(1, [1]);
    const problems = await l.crashEverywhere([
      () => l.driver.withCore(() => {}),
      () => l.driver.tick(),
      () => l.driver.withCore((raft) => raft.proposeConfChange({ op: "addLearner", id: 2, address: "127.0.0.1:8002" })),
      () => l.driver.withCore((raft) => raft.proposeConfChange({ op: "promote", id: 2 })),
    ]);
    expect(l.driver.raft.membership.voters).toEqual([1, 2]);
    expect(problems).toEqual([]);
  });
});
