import { describe, expect, test } from "bun:test";
import type { Entry, HardState } from "../../src/raft/log-types.ts";
import type { LogStore } from "../../src/storage/log-store.ts";
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
  /** Term at every index a snapshot was taken or installed at (an installed one has no entry). */
  snapTerms = new Map<number, number>([[0, 0]]);
  /** Hard states saved, oldest first; those before `durableHard` are superseded by a durable one. */
  hards: HardState[] = [{ term: 0, vote: 0, commit: 0 }];
  durableHard = 0;
  term = 1;
}

async function step(prng: Prng, fs: SimFs, store: LogStore, m: Model, errors: unknown[]): Promise<void> {
  const r = prng.next();
  const last = store.lastIndex();
  if (r < 0.4) {
    if (prng.chance(0.1)) m.term++;
    const es = Array.from({ length: prng.int(1, 4) }, (_, k) => makeEntry(last + 1 + k, m.term, prng.int(0, 60), prng.int(0, 99)));
    store.append(es);
    for (const e of es) m.entries.set(e.index, e);
  } else if (r < 0.47) {
    const lo = Math.max(m.snapIndex + 1, store.firstIndex());
    if (lo > last) return;
    const from = prng.int(lo, last);
    m.term++;
    const es = Array.from({ length: prng.int(1, 3) }, (_, k) => makeEntry(from + k, m.term, prng.int(0, 60), prng.int(0, 99)));
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
    const index = last + prng.int(0, 5);
    await drive(fs, store.installSnapshot(snapshotAt(index, m.term)));
    m.entries.clear();
    m.snapIndex = index;
    m.snapTerms.set(index, m.term);
  }
}

/** Power loss, restart, and the checks that recovery kept what was durable and nothing that never was. */
async function crashAndCheck(seed: number, prng: Prng, fs: SimFs, store: LogStore, m: Model): Promise<LogStore> {
  const durable = store.durableIndex;
  const modelLast = Math.max(m.snapIndex, ...m.entries.keys());
  await quiesce();
  fs.crash(prng.chance(0.25) ? {} : { prng: prng.fork() });
  const next = await openDriven(fs, { dir: DIR, maxSegmentBytes: 200 });
  const where = `seed ${seed}: durable ${durable}, recovered [${next.firstIndex()}, ${next.lastIndex()}]`;
  expect({ where, keptDurable: next.lastIndex() >= durable, withinWritten: next.lastIndex() <= modelLast }).toEqual({
    where,
    keptDurable: true,
    withinWritten: true,
  });
  const got = describeEntries(next.entries(next.firstIndex(), next.lastIndex() + 1));
  const want = describeEntries(
    Array.from({ length: next.lastIndex() - next.firstIndex() + 1 }, (_, k) => m.entries.get(next.firstIndex() + k) as Entry),
  );
  expect({ where, got }).toEqual({ where, got: want });
  const before = next.firstIndex() - 1;
  const prevTerm = m.entries.get(before)?.term ?? m.snapTerms.get(before);
  expect({ where, prevTerm: next.term(before) }).toEqual({ where, prevTerm });
  expect({ where, snapshot: next.snapshot()?.meta.index ?? 0 }).toEqual({ where, snapshot: m.snapIndex });
  const allowed = m.hards.slice(m.durableHard);
  expect({ where, hardStateAllowed: allowed.some((h) => JSON.stringify(h) === JSON.stringify(next.hardState())) }).toEqual({
    where,
    hardStateAllowed: true,
  });
  for (const i of [...m.entries.keys()]) if (i > next.lastIndex()) m.entries.delete(i);
  m.hards = [next.hardState()];
  m.durableHard = 0;
  return next;
}

describe("crash fuzz on the simulated fs", () => {
  test(`${SEEDS} seeded runs of appends, overwrites, syncs, snapshots and torn power losses keep every durable record`, async () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const prng = createPrng(seed);
      const fs = new SimFs({ syncMode: "manual" });
      const m = new Model();
      const errors: unknown[] = [];
      let store = await openDriven(fs, { dir: DIR, maxSegmentBytes: 200 });
      for (let s = 0; s < STEPS; s++) {
        if (prng.chance(0.03)) store = await crashAndCheck(seed, prng, fs, store, m);
        else await step(prng, fs, store, m, errors);
      }
      store = await crashAndCheck(seed, prng, fs, store, m);
      expect({ seed, errors: errors.map(String) }).toEqual({ seed, errors: [] });
      await drive(fs, store.close());
    }
  });
});
