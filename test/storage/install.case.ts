import { describe, expect, test } from "bun:test";
import type { Entry } from "../../src/raft/log-types.ts";
import { readWholeFile } from "../../src/storage/fs.ts";
import type { InstallHistory } from "../../src/storage/log-store.ts";
import { PartsSnapshot } from "../../src/storage/parts-snapshot.ts";
import { isMqraftError } from "../../src/util/errors.ts";
import { logOf, rejection, snapshotAt, useStorageEnv } from "./log-store.case.ts";
import { describeEntries, makeEntries, type StorageEnv, segmentPaths } from "./storage-env.ts";

/** A leader's history below its snapshot at 20 (term 4): entries 12..20, in segments 12-14, 15-17, 18-20. */
const HISTORY: InstallHistory = {
  prevTerm: 2,
  entries: [...makeEntries(12, 17, 3, 10, 1), ...makeEntries(18, 20, 4, 10, 1)],
};

/** installSnapshot with and without the leader's history, against any Fs. */
export function installCases(label: string, makeEnv: () => Promise<StorageEnv>): void {
  describe(`installing a snapshot (${label})`, () => {
    const { env, open } = useStorageEnv(makeEnv);
    const intentLeft = (): boolean => readWholeFile(env().fs, `${env().dir}/installing`) !== undefined;

    test("with history: the log becomes exactly that history, read from the files after a restart, and grows after it", async () => {
      const a = await open();
      a.append(makeEntries(1, 25, 1));
      await a.sync();
      await a.installSnapshot(snapshotAt(20, 4, "leader state"), HISTORY);
      expect([a.firstIndex(), a.lastIndex(), a.term(11), a.term(17), a.term(20), a.term(21), a.durableIndex]).toEqual([
        12,
        20,
        2,
        3,
        4,
        undefined,
        20,
      ]);
      expect(logOf(a)).toEqual(describeEntries(HISTORY.entries));
      expect(intentLeft()).toBe(false);
      a.append(makeEntries(21, 22, 4));
      await a.sync();
      await a.close();

      const b = await open({ cacheBytes: 0 });
      expect([b.firstIndex(), b.lastIndex(), b.term(11), b.durableIndex]).toEqual([12, 22, 2, 22]);
      expect(logOf(b)).toEqual(describeEntries([...HISTORY.entries, ...makeEntries(21, 22, 4)]));
      expect(b.snapshot()?.meta).toEqual(snapshotAt(20, 4).meta);
      expect(new TextDecoder().decode(b.snapshot()?.data)).toBe("leader state");
      expect(b.recovery.finishedInstall).toBeUndefined();
    });

    test("with an empty history: the log is empty and continues after the snapshot, whatever prevTerm says", async () => {
      const a = await open();
      a.append(makeEntries(1, 5, 1));
      await a.sync();
      await a.installSnapshot(snapshotAt(20, 4), { prevTerm: 9, entries: [] });
      expect([a.firstIndex(), a.lastIndex(), a.term(20), a.term(19), a.durableIndex]).toEqual([
        21,
        20,
        4,
        undefined,
        20,
      ]);
      expect(segmentPaths(env().fs, env().dir)).toEqual([]);
      await a.close();
      const b = await open();
      expect([b.firstIndex(), b.lastIndex(), b.term(20)]).toEqual([21, 20, 4]);
      b.append(makeEntries(21, 21, 4));
      await b.sync();
      expect(logOf(b)).toEqual(describeEntries(makeEntries(21, 21, 4)));
    });

    test("its own snapshot still being written when the leader's arrives: they are written in turn and the leader's stays", async () => {
      const a = await open();
      a.append(makeEntries(1, 25, 1));
      await a.sync();
      // Many pieces (as a broker's own snapshot is), so that the write spans several turns of the event loop.
      const own = new PartsSnapshot(
        snapshotAt(10, 1).meta,
        Array.from({ length: 3000 }, (_, i) => new Uint8Array(1000).fill(i & 0xff)),
      );
      const saving = a.saveSnapshot(own);
      await a.installSnapshot(snapshotAt(20, 4, "leader state"), HISTORY);
      await saving;
      expect(a.snapshot()?.meta.index).toBe(20);
      await a.close();
      const b = await open();
      expect([b.snapshot()?.meta.index, new TextDecoder().decode(b.snapshot()?.data)]).toEqual([20, "leader state"]);
      expect(logOf(b)).toEqual(describeEntries(HISTORY.entries));
    });

    test("a history that cannot follow the snapshot is refused before anything changes", async () => {
      const a = await open();
      a.append(makeEntries(1, 5, 1));
      await a.sync();
      const bad: [string, InstallHistory][] = [
        ["a gap", { prevTerm: 2, entries: [...makeEntries(15, 16, 4), ...makeEntries(18, 20, 4)] }],
        ["a term going down", { prevTerm: 2, entries: [...makeEntries(15, 16, 4), ...makeEntries(17, 20, 3)] }],
        ["a previous term above the first entry's", { prevTerm: 5, entries: makeEntries(15, 20, 4) }],
        ["an end before the snapshot", { prevTerm: 2, entries: makeEntries(15, 19, 4) }],
        ["an end past the snapshot", { prevTerm: 2, entries: makeEntries(15, 21, 4) }],
        ["another term at the snapshot's index", { prevTerm: 2, entries: makeEntries(15, 20, 3) }],
      ];
      const refusals = [];
      for (const [what, history] of bad) {
        const e = await rejection(a.installSnapshot(snapshotAt(20, 4), history));
        refusals.push({
          what,
          internal: isMqraftError(e, "INTERNAL"),
          message: String(e).includes("cannot install the snapshot at index 20"),
        });
      }
      expect(refusals).toEqual(bad.map(([what]) => ({ what, internal: true, message: true })));
      expect(String(await rejection(a.installSnapshot(snapshotAt(20, 4), bad[3]?.[1] as InstallHistory)))).toContain(
        "history must end at the snapshot (index 20 term 4), not at index 19 term 4",
      );
      expect([a.snapshot(), logOf(a), intentLeft()]).toEqual([undefined, describeEntries(makeEntries(1, 5, 1)), false]);
      a.append(makeEntries(6, 6, 1));
      await a.sync();
      expect(a.lastIndex()).toBe(6);
    });

    test("after an install with history, compaction and new snapshots work on a log that starts below the snapshot", async () => {
      const a = await open();
      await a.installSnapshot(snapshotAt(20, 4), HISTORY);
      a.append(makeEntries(21, 26, 4));
      await a.sync();
      // Only whole segments at or below min(16, snapshot 20) go: 12-14.
      a.compactPrefix(16);
      expect([a.firstIndex(), a.term(14), a.term(13)]).toEqual([15, 3, undefined]);
      // Never past the snapshot's index: 21-23 stays however high the limit.
      a.compactPrefix(100);
      expect([a.firstIndex(), a.term(20), a.lastIndex()]).toEqual([21, 4, 26]);
      await expect(a.saveSnapshot(snapshotAt(19, 4))).rejects.toThrow("older than the current one");
      await a.saveSnapshot(snapshotAt(24, 4, "later state"));
      a.compactPrefix(100);
      expect([a.firstIndex(), a.term(23), a.lastIndex()]).toEqual([24, 4, 26]);
      await a.sync();
      await a.close();

      const b = await open();
      expect([b.firstIndex(), b.lastIndex(), b.term(23)]).toEqual([24, 26, 4]);
      expect(logOf(b)).toEqual(describeEntries(makeEntries(24, 26, 4)));
      expect(b.snapshot()?.meta.index).toBe(24);
      expect(new TextDecoder().decode(b.snapshot()?.data)).toBe("later state");
    });

    test("a second install replaces the first one's history, over the same segment names", async () => {
      const a = await open();
      await a.installSnapshot(snapshotAt(20, 4), HISTORY);
      const second: Entry[] = [...makeEntries(12, 20, 4, 10, 2), ...makeEntries(21, 30, 5, 10, 2)];
      await a.installSnapshot(snapshotAt(30, 5, "second"), { prevTerm: 3, entries: second });
      expect(logOf(a)).toEqual(describeEntries(second));
      await a.close();
      const b = await open({ cacheBytes: 0 });
      expect([b.firstIndex(), b.lastIndex(), b.term(11), b.term(30)]).toEqual([12, 30, 3, 5]);
      expect(logOf(b)).toEqual(describeEntries(second));
      expect(new TextDecoder().decode(b.snapshot()?.data)).toBe("second");
    });
  });
}
