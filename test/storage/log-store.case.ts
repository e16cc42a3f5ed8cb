import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { Snapshot } from "../../src/raft/log-types.ts";
import { LogStore, type LogStoreOptions } from "../../src/storage/log-store.ts";
import { recordSize, SEGMENT_HEADER_SIZE } from "../../src/storage/record-codec.ts";
import { MqraftError } from "../../src/util/errors.ts";
import { describeEntries, makeEntries, type StorageEnv, segmentPaths } from "./storage-env.ts";

/** Ten data bytes per entry and three records per segment in these tests. */
export const DATA = 10;
export const REC = recordSize(DATA);
export const SEG = SEGMENT_HEADER_SIZE + 3 * REC;

export function snapshotAt(index: number, term: number, data = "state"): Snapshot {
  return {
    meta: {
      index,
      term,
      membership: { voters: [1, 2, 3], learners: [4], addresses: { "1": "127.0.0.1:8000", "4": "127.0.0.1:8003" } },
    },
    data: new TextEncoder().encode(data),
  };
}

/** Everything the store holds, from firstIndex to lastIndex, in readable form. */
export function logOf(store: LogStore): string[] {
  return describeEntries(store.entries(store.firstIndex(), store.lastIndex() + 1));
}

export async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected the promise to reject, it resolved");
}

/** Per-env setup shared by the storage suites: a fresh folder, and every store opened is closed afterwards. */
export function useStorageEnv(makeEnv: () => Promise<StorageEnv>): {
  env: () => StorageEnv;
  open: (extra?: Partial<LogStoreOptions>) => Promise<LogStore>;
} {
  let current: StorageEnv | undefined;
  const opened: LogStore[] = [];
  beforeEach(async () => {
    current = await makeEnv();
  });
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close().catch(() => undefined);
    await current?.cleanup();
  });
  const env = (): StorageEnv => {
    if (!current) throw new Error("no storage env outside a test");
    return current;
  };
  const open = async (extra: Partial<LogStoreOptions> = {}): Promise<LogStore> => {
    const s = await LogStore.open({ fs: env().fs, dir: env().dir, maxSegmentBytes: SEG, ...extra });
    opened.push(s);
    return s;
  };
  return { env, open };
}

/** The log store's API and restart behaviour, against any Fs. */
export function logStoreCases(label: string, makeEnv: () => Promise<StorageEnv>): void {
  describe(`log store (${label})`, () => {
    const { env, open } = useStorageEnv(makeEnv);

    test("a new folder holds an empty log", async () => {
      const s = await open();
      expect([s.firstIndex(), s.lastIndex(), s.term(0), s.term(1), s.durableIndex]).toEqual([1, 0, 0, undefined, 0]);
      expect(s.hardState()).toEqual({ term: 0, vote: 0, commit: 0 });
      expect(s.snapshot()).toBeUndefined();
      expect(s.entries(1, 1)).toEqual([]);
    });

    test("entries read back after a restart, across segments, from the files", async () => {
      const written = [...makeEntries(1, 5, 1), ...makeEntries(6, 10, 2)];
      const a = await open({ cacheBytes: 0 });
      a.append(written);
      // Filling a segment makes it durable before the next one is started.
      expect(a.durableIndex).toBe(9);
      await a.sync();
      expect(a.durableIndex).toBe(10);
      await a.close();
      expect(segmentPaths(env().fs, env().dir)).toHaveLength(4);

      const b = await open({ cacheBytes: 0 });
      expect(logOf(b)).toEqual(describeEntries(written));
      expect([b.term(0), b.term(5), b.term(6), b.term(10), b.term(11)]).toEqual([0, 1, 2, 2, undefined]);
      expect(describeEntries(b.entries(3, 9, 2 * DATA + 5))).toEqual(describeEntries(written.slice(2, 4)));
      expect(describeEntries(b.entries(4, 5, 0))).toEqual(describeEntries(written.slice(3, 4)));
      expect(() => b.entries(0, 3)).toThrow(MqraftError);
      expect(() => b.entries(5, 12)).toThrow("outside the log [1, 10]");
    });

    test("appending at a held index replaces the conflicting suffix, across segments", async () => {
      const a = await open();
      a.append(makeEntries(1, 10, 1));
      await a.sync();
      a.append(makeEntries(4, 6, 2, DATA, 1));
      expect(a.durableIndex).toBe(3);
      expect(a.lastIndex()).toBe(6);
      await a.sync();
      expect(a.durableIndex).toBe(6);
      const expected = describeEntries([...makeEntries(1, 3, 1), ...makeEntries(4, 6, 2, DATA, 1)]);
      expect(logOf(a)).toEqual(expected);
      await a.close();
      expect(logOf(await open())).toEqual(expected);
    });

    test("truncateSuffix then append survives a restart", async () => {
      const a = await open();
      a.append(makeEntries(1, 8, 1));
      await a.sync();
      a.truncateSuffix(5);
      expect([a.lastIndex(), a.durableIndex]).toEqual([4, 4]);
      a.append(makeEntries(5, 7, 3, DATA, 2));
      await a.sync();
      await a.close();
      const b = await open();
      expect(logOf(b)).toEqual(describeEntries([...makeEntries(1, 4, 1), ...makeEntries(5, 7, 3, DATA, 2)]));
      b.truncateSuffix(1);
      expect([b.firstIndex(), b.lastIndex(), b.term(0)]).toEqual([1, 0, 0]);
      b.append(makeEntries(1, 2, 4));
      await b.sync();
      await b.close();
      expect(logOf(await open())).toEqual(describeEntries(makeEntries(1, 2, 4)));
    });

    test("reads spanning the files and the tail mirror agree, through truncation and compaction", async () => {
      const a = await open({ cacheBytes: 2 * REC });
      const written = [...makeEntries(1, 6, 1), ...makeEntries(7, 12, 2)];
      a.append(written);
      expect(logOf(a)).toEqual(describeEntries(written));
      a.append(makeEntries(11, 13, 3, DATA, 5));
      const now = [...written.slice(0, 10), ...makeEntries(11, 13, 3, DATA, 5)];
      expect(logOf(a)).toEqual(describeEntries(now));
      await a.sync();
      await a.saveSnapshot(snapshotAt(9, 2));
      a.compactPrefix(9);
      expect(logOf(a)).toEqual(describeEntries(now.slice(9)));
      expect(describeEntries(a.entries(10, 14, 3 * DATA))).toEqual(describeEntries(now.slice(9, 12)));
    });

    test("appends that leave a gap, go backwards in term, or precede the log are refused", async () => {
      const a = await open();
      a.append(makeEntries(1, 3, 2));
      expect(() => a.append(makeEntries(5, 5, 2))).toThrow("cannot append index 5");
      expect(() => a.append(makeEntries(4, 4, 1))).toThrow("non-decreasing terms");
      expect(a.lastIndex()).toBe(3);
    });

    test("the hard state recovered is the last one synced", async () => {
      const a = await open();
      a.saveHardState({ term: 3, vote: 2, commit: 0 });
      await a.sync();
      a.saveHardState({ term: 4, vote: 0, commit: 0 });
      await a.sync();
      a.saveHardState({ term: 5, vote: 1, commit: 0 });
      expect(a.hardState()).toEqual({ term: 5, vote: 1, commit: 0 });
      await a.close();
      expect((await open()).hardState()).toEqual({ term: 4, vote: 0, commit: 0 });
    });

    test("a snapshot is kept with its log; compaction removes whole segments it covers", async () => {
      const a = await open();
      a.append([...makeEntries(1, 6, 1), ...makeEntries(7, 12, 2)]);
      await a.sync();
      a.compactPrefix(100);
      expect(a.firstIndex()).toBe(1);
      await a.saveSnapshot(snapshotAt(8, 2));
      a.compactPrefix(100);
      expect([a.firstIndex(), a.term(6), a.term(5)]).toEqual([7, 1, undefined]);
      expect(segmentPaths(env().fs, env().dir)).toHaveLength(2);
      expect(() => a.entries(6, 8)).toThrow("outside the log");
      await a.close();

      const b = await open();
      expect([b.firstIndex(), b.lastIndex(), b.term(6), b.term(7)]).toEqual([7, 12, 1, 2]);
      expect(logOf(b)).toEqual(describeEntries(makeEntries(7, 12, 2)));
      const snap = b.snapshot();
      expect(snap?.meta).toEqual(snapshotAt(8, 2).meta);
      expect(new TextDecoder().decode(snap?.data)).toBe("state");
      await expect(b.saveSnapshot(snapshotAt(9, 1))).rejects.toThrow("does not match the log");
    });

    test("installSnapshot discards the log, which continues after the snapshot", async () => {
      const a = await open();
      a.append(makeEntries(1, 5, 1));
      await a.sync();
      await a.installSnapshot(snapshotAt(20, 4, "leader state"));
      expect([a.firstIndex(), a.lastIndex(), a.term(20), a.durableIndex]).toEqual([21, 20, 4, 20]);
      expect(segmentPaths(env().fs, env().dir)).toEqual([]);
      a.append(makeEntries(21, 22, 4));
      await a.sync();
      await a.close();
      const b = await open();
      expect([b.firstIndex(), b.lastIndex(), b.term(20)]).toEqual([21, 22, 4]);
      expect(logOf(b)).toEqual(describeEntries(makeEntries(21, 22, 4)));
      expect(new TextDecoder().decode(b.snapshot()?.data)).toBe("leader state");
    });

    test("a snapshot installed before any append restarts as an empty log after it", async () => {
      const a = await open();
      await a.installSnapshot(snapshotAt(7, 3));
      await a.close();
      const b = await open();
      expect([b.firstIndex(), b.lastIndex(), b.term(7), b.term(6)]).toEqual([8, 7, 3, undefined]);
    });

    test("durableFileLengths gives each segment's synced length", async () => {
      const a = await open();
      a.append(makeEntries(1, 4, 1));
      await a.sync();
      const paths = segmentPaths(env().fs, env().dir);
      expect(a.durableFileLengths()).toEqual([
        { path: paths[0] as string, length: SEG },
        { path: paths[1] as string, length: SEGMENT_HEADER_SIZE + REC },
      ]);
      a.append(makeEntries(5, 5, 1));
      expect(a.durableFileLengths()[1]?.length).toBe(SEGMENT_HEADER_SIZE + REC);
    });

    test("a commit index beyond the recovered log is not fatal", async () => {
      const a = await open();
      a.append(makeEntries(1, 3, 1));
      a.saveHardState({ term: 1, vote: 1, commit: 50 });
      await a.sync();
      await a.close();
      const b = await open();
      expect(b.recovery.commitBeyondLog).toBe(true);
      expect(b.hardState().commit).toBe(50);
      expect(b.lastIndex()).toBe(3);
    });

    test("a second store on the same folder fails with LOCKED; close releases the folder", async () => {
      const a = await open();
      const e = await rejection(open());
      expect(e).toBeInstanceOf(MqraftError);
      expect((e as MqraftError).code).toBe("LOCKED");
      expect((e as MqraftError).message).toBe(`data folder ${env().dir} is in use by process ${env().fs.pid()}`);
      await a.close();
      await open();
    });

    test("a lock left by a process that is gone is taken over", async () => {
      const { fs, dir } = env();
      fs.mkdir(dir);
      const fd = fs.open(`${dir}/LOCK`, "wx");
      fs.write(fd, new TextEncoder().encode(`${env().deadPid()}\n`), 0);
      fs.close(fd);
      const a = await open();
      expect(a.lastIndex()).toBe(0);
      await expect(open()).rejects.toThrow("is in use by process");
    });
  });
}
