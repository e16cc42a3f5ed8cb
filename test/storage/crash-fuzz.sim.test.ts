import { describe, expect, test } from "bun:test";
import type { Entry, HardState, Snapshot } from "../../src/raft/log-types.ts";
import type { InstallHistory, LogStore } from "../../src/storage/log-store.ts";
import { SimFs } from "../../src/storage/sim-fs.ts";
import { createPrng, type Prng } from "../../src/util/prng.ts";
import { snapshotAt } from "./log-store.case.ts";
import { drive, openDriven, quiesce } from "./sim-drive.ts";
import { describeEntries, makeEntry } from "./storage-env.ts";

const DIR = "/data/n1";
const SEEDS = 300;
const STEPS = 120;

/** What the test knows the store was told, and what it reported durable. */
class Model {
  /** Every entry the log held at each index (compacted ones too: they may come back after a crash). */
  entries = new Map<number, Entry>();
  snapIndex = 0;
  /**
   * Term at every index a snapshot was taken or installed at, and just before an installed
   * history: neither need have an entry.
   */
  snapTerms = new Map<number, number>([[0, 0]]);
  /** Hard states saved, oldest first; those before `durableHard` are superseded by a durable one. */
  hards: HardState[] = [{ term: 0, vote: 0, commit: 0 }];
  durableHard = 0;
  term = 1;
}

/** An install left running when the power goes out. */
interface Install {
  snapshot: Snapshot;
  history: InstallHistory;
}

function applyInstall(m: Model, { snapshot, history }: Install): void {
  m.entries.clear();
  for (const e of history.entries) m.entries.set(e.index, e);
  m.snapIndex = snapshot.meta.index;
  m.snapTerms.set(snapshot.meta.index, snapshot.meta.term);
  const first = history.entries[0];
  if (first !== undefined) m.snapTerms.set(first.index - 1, history.prevTerm);
}

/** A leader's snapshot at `index` in term `term`, with a history of up to 10 entries below it (terms term - 1, then term). */
function leaderInstall(prng: Prng, index: number, term: number): Install {
  const first = prng.int(Math.max(1, index - 10), index + 1);
  const split = prng.int(first, index);
  const entries = Array.from({ length: index - first + 1 }, (_, k) =>
    makeEntry(first + k, first + k < split ? term - 1 : term, prng.int(0, 60), prng.int(0, 99)),
  );
  return { snapshot: snapshotAt(index, term), history: { prevTerm: prng.int(0, term - 1), entries } };
}

/** One random operation; an install it leaves unfinished (to be cut by a power loss at once) is returned. */
async function step(prng: Prng, fs: SimFs, store: LogStore, m: Model, errors: unknown[]): Promise<Install | undefined> {
  const r = prng.next();
  const last = store.lastIndex();
  if (r < 0.4) {
    if (prng.chance(0.1)) m.term++;
    const es = Array.from({ length: prng.int(1, 4) }, (_, k) =>
      makeEntry(last + 1 + k, m.term, prng.int(0, 60), prng.int(0, 99)),
    );
    store.append(es);
    for (const e of es) m.entries.set(e.index, e);
  } else if (r < 0.47) {
    const lo = Math.max(m.snapIndex + 1, store.firstIndex());
    if (lo > last) return;
    const from = prng.int(lo, last);
    m.term++;
    const es = Array.from({ length: prng.int(1, 3) }, (_, k) =>
      makeEntry(from + k, m.term, prng.int(0, 60), prng.int(0, 99)),
    );
    store.append(es);
    for (const i of [...m.entries.keys()]) if (i >= from) m.entries.delete(i);
    for (const e of es) m.entries.set(e.index, e);
  } else if (r < 0.57) {
    const hs = { term: m.term, vote: prng.int(0, 3), commit: prng.int(0, last) };
    store.saveHardState(hs);
    m.hards.push(hs);
  } else if (r < 0.77) {
    const upTo = m.hards.length - 1;
    store.sync().then(
      () => (m.durableHard = Math.max(m.durableHard, upTo)),
      (e: unknown) => errors.push(e),
    );
  } else if (r < 0.9) {
    if (fs.pendingSyncs() > 0) fs.completeSyncs(prng.int(1, fs.pendingSyncs()));
    await quiesce();
  } else if (r < 0.95) {
    const lo = Math.max(m.snapIndex + 1, store.firstIndex() - 1, 1);
    if (lo > last) return;
    const index = prng.int(lo, last);
    await drive(fs, store.saveSnapshot(snapshotAt(index, store.term(index) as number)));
    m.snapIndex = index;
    m.snapTerms.set(index, store.term(index) as number);
    if (prng.chance(0.7)) store.compactPrefix(prng.int(0, index));
  } else {
    m.term++;
    const install = leaderInstall(prng, last + prng.int(0, 5), m.term);
    const running = store.installSnapshot(install.snapshot, install.history);
    if (prng.chance(0.4)) {
      running.catch((e: unknown) => errors.push(e));
      for (let n = prng.int(0, 7); n > 0; n--) {
        if (fs.pendingSyncs() === 0) await Promise.race([fs.syncQueued(), running]);
        fs.completeSyncs(1);
        await quiesce();
      }
      return install;
    }
    await drive(fs, running);
    applyInstall(m, install);
  }
  return undefined;
}

/** Power loss, restart, and the checks that recovery kept what was durable and nothing that never was. */
async function crashAndCheck(
  seed: number,
  prng: Prng,
  fs: SimFs,
  store: LogStore,
  m: Model,
  cut?: Install,
): Promise<LogStore> {
  const durable = store.durableIndex;
  await quiesce();
  fs.crash(prng.chance(0.25) ? {} : { prng: prng.fork() });
  const next = await openDriven(fs, { dir: DIR, maxSegmentBytes: 200 });
  // An install cut by the crash counts only when its snapshot is the one recovered; the checks below then want all of it.
  const recovered = next.snapshot()?.meta;
  const installed =
    cut !== undefined && recovered?.index === cut.snapshot.meta.index && recovered.term === cut.snapshot.meta.term;
  if (cut !== undefined && installed) applyInstall(m, cut);
  const modelLast = Math.max(m.snapIndex, ...m.entries.keys());
  const where = `seed ${seed}: durable ${durable}, recovered [${next.firstIndex()}, ${next.lastIndex()}]${cut ? `, install at ${cut.snapshot.meta.index} cut (${installed ? "finished" : "dropped"})` : ""}`;
  expect({ where, keptDurable: next.lastIndex() >= durable, withinWritten: next.lastIndex() <= modelLast }).toEqual({
    where,
    keptDurable: true,
    withinWritten: true,
  });
  const got = describeEntries(next.entries(next.firstIndex(), next.lastIndex() + 1));
  const want = describeEntries(
    Array.from(
      { length: next.lastIndex() - next.firstIndex() + 1 },
      (_, k) => m.entries.get(next.firstIndex() + k) as Entry,
    ),
  );
  expect({ where, got }).toEqual({ where, got: want });
  const before = next.firstIndex() - 1;
  const prevTerm = m.entries.get(before)?.term ?? m.snapTerms.get(before);
  expect({ where, prevTerm: next.term(before) }).toEqual({ where, prevTerm });
  expect({ where, snapshot: next.snapshot()?.meta.index ?? 0 }).toEqual({ where, snapshot: m.snapIndex });
  const allowed = m.hards.slice(m.durableHard);
  expect({
    where,
    hardStateAllowed: allowed.some((h) => JSON.stringify(h) === JSON.stringify(next.hardState())),
  }).toEqual({
    where,
    hardStateAllowed: true,
  });
  for (const i of [...m.entries.keys()]) if (i > next.lastIndex()) m.entries.delete(i);
  m.hards = [next.hardState()];
  m.durableHard = 0;
  return next;
}

describe("crash fuzz on the simulated fs", () => {
  test(`${SEEDS} seeded runs of appends, overwrites, syncs, snapshots, installs with history (some cut by the crash) and torn power losses keep every durable record`, async () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const prng = createPrng(seed);
      const fs = new SimFs({ syncMode: "manual" });
      const m = new Model();
      const errors: unknown[] = [];
      let store = await openDriven(fs, { dir: DIR, maxSegmentBytes: 200 });
      for (let s = 0; s < STEPS; s++) {
        if (prng.chance(0.03)) {
          store = await crashAndCheck(seed, prng, fs, store, m);
          continue;
        }
        const cut = await step(prng, fs, store, m, errors);
        if (cut === undefined) continue;
        store = await crashAndCheck(seed, prng, fs, store, m, cut);
      }
      store = await crashAndCheck(seed, prng, fs, store, m);
      expect({ seed, errors: errors.map(String) }).toEqual({ seed, errors: [] });
      await drive(fs, store.close());
    }
  });
});
