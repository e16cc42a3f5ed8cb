import { describe, expect, test } from "bun:test";
import type { Entry, HardState, Snapshot } from "../../src/raft/log-types.ts";
import { type Fs, readWholeFile } from "../../src/storage/fs.ts";
import { inspectDataFolder } from "../../src/storage/inspect.ts";
import type { HistoryStream } from "../../src/storage/install-intent.ts";
import { type InstallHistory, LogStore } from "../../src/storage/log-store.ts";
import { recordSize } from "../../src/storage/record-codec.ts";
import { type CrashOptions, SimFs } from "../../src/storage/sim-fs.ts";
import { decodeSnapshot } from "../../src/storage/state-files.ts";
import { createPrng } from "../../src/util/prng.ts";
import { CrashPointFs } from "./crash-point-fs.ts";
import { logOf, SEG, snapshotAt } from "./log-store.case.ts";
import { quiesce } from "./sim-drive.ts";
import { describeEntries, makeEntries } from "./storage-env.ts";

const DIR = "/data/n1";
/** Torn variants of each crash point; the first of them also for the crash before a cut recovery. */
const TORN_SEEDS = 4;
const TORN_SEEDS_BEFORE_RECOVERY = 1;

/** Before the install: entries 7..12 (1..6 compacted away) under a snapshot at 8, all durable. */
const OLD_LOG = makeEntries(7, 12, 2);
const OLD_SNAPSHOT = snapshotAt(8, 2, "old state");
const HARD: HardState = { term: 5, vote: 2, commit: 12 };

interface Scenario {
  name: string;
  snapshot: Snapshot;
  history: InstallHistory;
}

const SCENARIOS: Scenario[] = [
  {
    name: "a history far beyond the old log, over four segments",
    snapshot: snapshotAt(40, 5, "new state"),
    history: { prevTerm: 3, entries: [...makeEntries(30, 34, 4, 10, 1), ...makeEntries(35, 40, 5, 10, 1)] },
  },
  {
    // New segments take the names of old ones (7, 10): a stale old record must never show through.
    name: "a history starting where an old segment starts, with other data at the same indexes",
    snapshot: snapshotAt(20, 3, "new state"),
    history: { prevTerm: 1, entries: [...makeEntries(7, 15, 2, 10, 9), ...makeEntries(16, 20, 3, 10, 9)] },
  },
  { name: "no history", snapshot: snapshotAt(30, 4, "new state"), history: { prevTerm: 0, entries: [] } },
  {
    // Only the snapshot file's checksum, kept in the intent, tells the two snapshots apart.
    name: "a snapshot at the old one's index and term with other bytes",
    snapshot: snapshotAt(8, 2, "new state"),
    history: { prevTerm: 1, entries: makeEntries(7, 8, 2, 10, 5) },
  },
];

/** How the store is handed the history: whole, or as a stream read in batches of 3 entries (a received transfer). */
type InstallMode = "whole" | "streamed";

/** The scenario's history as a stream; `again` changes what its second read (the one that fills the log) yields. */
function streamOf(history: InstallHistory, again?: (entries: Entry[]) => Entry[]): HistoryStream {
  const { entries, prevTerm } = history;
  let reads = 0;
  return {
    prevTerm,
    first: entries[0]?.index ?? 0,
    count: entries.length,
    recordBytes: entries.reduce((n, e) => n + recordSize(e.data.length), 0),
    *batches() {
      reads++;
      const read = reads > 1 && again !== undefined ? again([...entries]) : entries;
      for (let k = 0; k < read.length; k += 3) yield read.slice(k, k + 3);
    },
  };
}

function install(store: LogStore, sc: Scenario, mode: InstallMode): Promise<void> {
  return mode === "whole"
    ? store.installSnapshot(sc.snapshot, sc.history)
    : store.installSnapshotStreamed(sc.snapshot, streamOf(sc.history));
}

const text = (s: Snapshot | undefined): string | undefined =>
  s === undefined ? undefined : new TextDecoder().decode(s.data);

async function prepare(fs: Fs): Promise<LogStore> {
  const s = await LogStore.open({ fs, dir: DIR, maxSegmentBytes: SEG });
  s.append([...makeEntries(1, 6, 1), ...OLD_LOG]);
  s.saveHardState(HARD);
  await s.sync();
  await s.saveSnapshot(OLD_SNAPSHOT);
  s.compactPrefix(8);
  await s.sync();
  expect([s.firstIndex(), s.lastIndex()]).toEqual([7, 12]);
  return s;
}

/** Whether the snapshot file the disk holds now is the install's. */
function snapshotOnDiskIsNew(sim: SimFs, sc: Scenario): boolean {
  const bytes = readWholeFile(sim, `${DIR}/snapshot`);
  return bytes !== undefined && text(decodeSnapshot(`${DIR}/snapshot`, bytes)) === text(sc.snapshot);
}

/** What a store shows, in a form that compares whole with useful failure output. */
function stateOf(s: LogStore): object {
  return {
    snapshot: s.snapshot()?.meta,
    state: text(s.snapshot()),
    log: logOf(s),
    prevTerm: s.term(s.firstIndex() - 1),
    durableIndex: s.durableIndex,
    hardState: s.hardState(),
  };
}

function oldState(): object {
  return {
    snapshot: OLD_SNAPSHOT.meta,
    state: "old state",
    log: describeEntries(OLD_LOG),
    prevTerm: 1,
    durableIndex: 12,
    hardState: HARD,
  };
}

function newState(sc: Scenario, after: readonly Entry[] = []): object {
  const { entries, prevTerm } = sc.history;
  return {
    snapshot: sc.snapshot.meta,
    state: "new state",
    log: describeEntries([...entries, ...after]),
    prevTerm: entries.length === 0 ? sc.snapshot.meta.term : prevTerm,
    durableIndex: sc.snapshot.meta.index + after.length,
    hardState: HARD,
  };
}

/** How many file-system operations an install makes, start to end. */
async function countInstallOps(sc: Scenario, mode: InstallMode = "whole"): Promise<number> {
  const cp = new CrashPointFs(new SimFs());
  const store = await prepare(cp);
  const before = cp.ops;
  await install(store, sc, mode);
  const ops = cp.ops - before;
  await store.close();
  return ops;
}

/** A fresh disk with the old state, and an install on it that loses power right after its k-th operation. */
async function crashInstall(
  sc: Scenario,
  k: number,
  options: CrashOptions,
  mode: InstallMode = "whole",
): Promise<SimFs> {
  const sim = new SimFs();
  const cp = new CrashPointFs(sim);
  const store = await prepare(cp);
  cp.crashAfter(k, options);
  await Promise.race([install(store, sc, mode).catch(() => undefined), quiesce()]);
  expect({ k, crashed: cp.crashed }).toEqual({ k, crashed: true });
  return sim;
}

/** Everything a disk holds (names and bytes): two crashes that leave equal fingerprints recover alike. */
function fingerprint(sim: SimFs): string {
  const files = (dir: string): string[] =>
    sim
      .readdir(dir)
      .filter((name) => name !== "log")
      .sort()
      .map((name) => `${name}:${Buffer.from(readWholeFile(sim, `${dir}/${name}`) ?? []).toString("base64")}`);
  return [...files(DIR), ...files(`${DIR}/log`)].join("\n");
}

/** The inspector, run on the disk as the crash left it, calls it healthy and says what the next start does with an intent. */
function checkInspection(sim: SimFs, expectNew: boolean, where: string): void {
  const report = inspectDataFolder(DIR, sim);
  const intentLine = report.lines.find((l) => l.startsWith("install intent: "));
  const hasIntent = readWholeFile(sim, `${DIR}/installing`) !== undefined;
  const expected = !hasIntent
    ? undefined
    : expectNew
      ? "replaces the log with its entries"
      : "drops it and keeps the log";
  expect({ where, healthy: report.healthy, intent: expected && intentLine?.includes(expected) }).toEqual({
    where,
    healthy: true,
    intent: expected && true,
  });
}

/** Opens the folder after a crash, checks it holds the old or the new state as `expectNew` says, and checks appends after a new one. */
async function recoverAndCheck(sim: SimFs, sc: Scenario, expectNew: boolean, where: string): Promise<void> {
  const s = await LogStore.open({ fs: sim, dir: DIR, maxSegmentBytes: SEG });
  expect({ where, state: stateOf(s) }).toEqual({ where, state: expectNew ? newState(sc) : oldState() });
  expect({ where, intentLeft: readWholeFile(sim, `${DIR}/installing`) !== undefined }).toEqual({
    where,
    intentLeft: false,
  });
  if (expectNew) {
    const next = makeEntries(sc.snapshot.meta.index + 1, sc.snapshot.meta.index + 2, sc.snapshot.meta.term, 10, 4);
    s.append(next);
    await s.sync();
    await s.close();
    const again = await LogStore.open({ fs: sim, dir: DIR, maxSegmentBytes: SEG });
    expect({ where, restarted: stateOf(again) }).toEqual({ where, restarted: newState(sc, next) });
    await again.close();
  } else {
    await s.close();
  }
}

describe("installSnapshot cut by a power loss after each of its file-system operations", () => {
  for (const sc of SCENARIOS) {
    test(`${sc.name}: the old state or the complete new one, also with the last writes torn`, async () => {
      const n = await countInstallOps(sc);
      const outcomes: boolean[] = [];
      for (let k = 1; k <= n; k++) {
        const sim = await crashInstall(sc, k, {});
        const expectNew = snapshotOnDiskIsNew(sim, sc);
        outcomes.push(expectNew);
        checkInspection(sim, expectNew, `crash after operation ${k} of ${n}`);
        await recoverAndCheck(sim, sc, expectNew, `crash after operation ${k} of ${n}`);
        for (let seed = 1; seed <= TORN_SEEDS; seed++) {
          const torn = await crashInstall(sc, k, { prng: createPrng(seed * 1000 + k) });
          const where = `torn crash (seed ${seed}) after operation ${k} of ${n}`;
          const tornNew = snapshotOnDiskIsNew(torn, sc);
          checkInspection(torn, tornNew, where);
          await recoverAndCheck(torn, sc, tornNew, where);
        }
      }
      // Losing everything unsynced, the outcome switches once, from old to new, and both occur.
      const firstNew = outcomes.indexOf(true);
      expect({ n, firstNew: firstNew > 0, staysNew: outcomes.slice(firstNew).every(Boolean) }).toEqual({
        n,
        firstNew: true,
        staysNew: true,
      });
    });

    test(`${sc.name}: a recovery cut after each of its own operations ends where the first crash decided`, async () => {
      const n = await countInstallOps(sc);
      let cutRecoveries = 0;
      const seen = new Set<string>();
      for (let k = 1; k <= n; k++) {
        for (let seed = 0; seed <= TORN_SEEDS_BEFORE_RECOVERY; seed++) {
          const first = (): CrashOptions => (seed === 0 ? {} : { prng: createPrng(seed * 1000 + k) });
          const probe = await crashInstall(sc, k, first());
          // Recovery has work to do only with an intent on disk, and each distinct disk needs cutting once.
          const disk = fingerprint(probe);
          if (readWholeFile(probe, `${DIR}/installing`) === undefined || seen.has(disk)) continue;
          seen.add(disk);
          const expectNew = snapshotOnDiskIsNew(probe, sc);
          const counter = new CrashPointFs(probe);
          await LogStore.open({ fs: counter, dir: DIR, maxSegmentBytes: SEG });
          for (let j = 1; j <= counter.ops; j++) {
            const sim = await crashInstall(sc, k, first());
            const cp = new CrashPointFs(sim);
            cp.crashAfter(j, j % 2 === 0 ? { prng: createPrng(j) } : {});
            await Promise.race([
              LogStore.open({ fs: cp, dir: DIR, maxSegmentBytes: SEG }).catch(() => undefined),
              quiesce(),
            ]);
            expect({ k, seed, j, crashed: cp.crashed }).toEqual({ k, seed, j, crashed: true });
            await recoverAndCheck(
              sim,
              sc,
              expectNew,
              `crash (seed ${seed}) after operation ${k} of the install, then after operation ${j} of recovery`,
            );
            cutRecoveries++;
          }
        }
      }
      expect(cutRecoveries).toBeGreaterThan(0);
    });
  }
});

describe("installSnapshotStreamed (the history read in batches) cut by a power loss after each of its operations", () => {
  for (const sc of SCENARIOS) {
    test(`${sc.name}: the old state or the complete new one, also with the last writes torn`, async () => {
      const n = await countInstallOps(sc, "streamed");
      const outcomes: boolean[] = [];
      for (let k = 1; k <= n; k++) {
        for (let seed = 0; seed <= TORN_SEEDS_BEFORE_RECOVERY; seed++) {
          const sim = await crashInstall(sc, k, seed === 0 ? {} : { prng: createPrng(seed * 1000 + k) }, "streamed");
          const expectNew = snapshotOnDiskIsNew(sim, sc);
          if (seed === 0) outcomes.push(expectNew);
          const where = `streamed, crash (seed ${seed}) after operation ${k} of ${n}`;
          checkInspection(sim, expectNew, where);
          await recoverAndCheck(sim, sc, expectNew, where);
        }
      }
      const firstNew = outcomes.indexOf(true);
      expect({ n, firstNew: firstNew > 0, staysNew: outcomes.slice(firstNew).every(Boolean) }).toEqual({
        n,
        firstNew: true,
        staysNew: true,
      });
    });
  }
});

describe("installSnapshotStreamed whose second read of the history differs from the first (written to the intent)", () => {
  const sc = SCENARIOS[0] as Scenario;
  const changes: [string, (entries: Entry[]) => Entry[]][] = [
    ["one entry short", (entries) => entries.slice(0, -1)],
    ["one entry more", (entries) => [...entries, ...makeEntries(41, 41, 5)]],
    ["the last entry of another term", (entries) => [...entries.slice(0, -1), ...makeEntries(40, 40, 6)]],
    ["an entry missing in the middle", (entries) => [...entries.slice(0, 4), ...entries.slice(5)]],
  ];
  for (const [name, again] of changes) {
    test(`${name}: the install fails on an assertion, keeps its intent, and a restart rebuilds the intent's log`, async () => {
      const sim = new SimFs();
      const store = await prepare(sim);
      const failure = await store.installSnapshotStreamed(sc.snapshot, streamOf(sc.history, again)).then(
        () => "resolved",
        (e: Error) => `${e.name}: ${e.message}`,
      );
      expect({ name, failure }).toEqual({
        name,
        failure: expect.stringMatching(/^AssertionError: invariant broken: install at index 40\b/),
      });
      expect({ name, intentLeft: readWholeFile(sim, `${DIR}/installing`) !== undefined }).toEqual({
        name,
        intentLeft: true,
      });
      await store.close();
      await recoverAndCheck(sim, sc, true, name);
    });
  }
});

test("recovery finishes an install of a 3 MiB history reading its intent at most 1 MiB at a time", async () => {
  // 24 entries of 128 KiB under a snapshot at 36
  const sc: Scenario = {
    name: "a large history",
    snapshot: snapshotAt(36, 5, "new state"),
    history: { prevTerm: 2, entries: makeEntries(13, 36, 5, 128 << 10, 3) },
  };
  // the power goes out once the new snapshot is in place, before the log holds the history
  let sim: SimFs | undefined;
  for (let k = 1; sim === undefined; k++) {
    const probe = await crashInstall(sc, k, {});
    if (snapshotOnDiskIsNew(probe, sc) && readWholeFile(probe, `${DIR}/installing`) !== undefined) sim = probe;
  }
  const intentBytes = readWholeFile(sim, `${DIR}/installing`)?.length ?? 0;
  const reads: number[] = [];
  const counting = new Proxy(sim, {
    get(target, key) {
      if (key === "read")
        return (fd: number, buf: Uint8Array, at: number) => {
          reads.push(buf.length);
          return target.read(fd, buf, at);
        };
      const value = Reflect.get(target, key);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const s = await LogStore.open({ fs: counting, dir: DIR, maxSegmentBytes: SEG });
  expect({ finished: s.recovery.finishedInstall, log: [s.firstIndex(), s.lastIndex()] }).toEqual({
    finished: { index: 36, entries: 24 },
    log: [13, 36],
  });
  expect(logOf(s)).toEqual(describeEntries(sc.history.entries));
  await s.close();
  expect(intentBytes).toBeGreaterThan(3 << 20);
  // the largest single read of the whole start (the intent's chunks; the other files are small)
  expect(Math.max(...reads)).toBeLessThanOrEqual(1 << 20);
});
