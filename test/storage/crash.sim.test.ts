import { describe, expect, test } from "bun:test";
import { readWholeFile } from "../../src/storage/fs.ts";
import { SimFs } from "../../src/storage/sim-fs.ts";
import { createPrng } from "../../src/util/prng.ts";
import { logOf, snapshotAt } from "./log-store.case.ts";
import { drive, openDriven, quiesce } from "./sim-drive.ts";
import { describeEntries, makeEntries } from "./storage-env.ts";

const DIR = "/data/n1";

describe("crashes on the simulated fs", () => {
  test("a crash between write and fdatasync loses only what was never reported durable", async () => {
    const fs = new SimFs({ syncMode: "manual" });
    const a = await openDriven(fs, { dir: DIR });
    a.append(makeEntries(1, 3, 1));
    await drive(fs, a.sync());
    expect(a.durableIndex).toBe(3);
    a.append(makeEntries(4, 6, 1));
    a.sync();
    await fs.syncQueued();
    expect(a.durableIndex).toBe(3);
    fs.crash();
    const b = await openDriven(fs, { dir: DIR });
    expect(describeEntries(b.entries(1, b.lastIndex() + 1))).toEqual(describeEntries(makeEntries(1, 3, 1)));
  });

  test("a new segment whose folder entry was never synced vanishes, and none of it was reported durable", async () => {
    const fs = new SimFs({ syncMode: "manual" });
    const a = await openDriven(fs, { dir: DIR });
    a.append(makeEntries(1, 2, 1));
    a.sync();
    await fs.syncQueued();
    fs.completeSyncs(1);
    await quiesce();
    expect(fs.pendingSyncs()).toBe(1);
    expect(a.durableIndex).toBe(0);
    fs.crash();
    const b = await openDriven(fs, { dir: DIR });
    expect([b.firstIndex(), b.lastIndex()]).toEqual([1, 0]);
  });

  test("syncs requested while one runs share the next fdatasync", async () => {
    const fs = new SimFs({ syncMode: "manual" });
    const a = await openDriven(fs, { dir: DIR });
    a.append(makeEntries(1, 1, 1));
    await drive(fs, a.sync());
    const before = fs.stats.datasyncs;
    const resolved: number[] = [];
    a.append(makeEntries(2, 2, 1));
    const p1 = a.sync().then(() => resolved.push(1));
    a.append(makeEntries(3, 3, 1));
    const p2 = a.sync().then(() => resolved.push(2));
    a.append(makeEntries(4, 4, 1));
    const p3 = a.sync().then(() => resolved.push(3));
    expect(fs.stats.datasyncs - before).toBe(1);
    await drive(fs, p1);
    expect(resolved).toEqual([1]);
    expect(a.durableIndex).toBe(2);
    await drive(fs, Promise.all([p2, p3]));
    expect(resolved).toEqual([1, 2, 3]);
    expect(fs.stats.datasyncs - before).toBe(2);
    expect(a.durableIndex).toBe(4);
  });

  test("an install cut after its snapshot was in place is finished by recovery; one cut before is dropped", async () => {
    // Syncs of an install without history: intent (file, folder), snapshot (file, folder), log folder, intent removal.
    for (const [completed, finished] of [
      [3, false],
      [4, true],
    ] as const) {
      const fs = new SimFs({ syncMode: "manual" });
      const a = await openDriven(fs, { dir: DIR });
      a.append(makeEntries(1, 5, 1));
      await drive(fs, a.sync());
      void a.installSnapshot(snapshotAt(20, 4));
      for (let i = 0; i < completed; i++) {
        await fs.syncQueued();
        fs.completeSyncs(1);
      }
      await quiesce();
      fs.crash();
      const b = await openDriven(fs, { dir: DIR });
      const where = `crash after ${completed} syncs`;
      if (finished) {
        expect({ where, report: b.recovery.finishedInstall, droppedInstall: b.recovery.droppedInstall }).toEqual({
          where,
          report: { index: 20, entries: 0 },
          droppedInstall: undefined,
        });
        expect([b.firstIndex(), b.lastIndex(), b.term(20), b.snapshot()?.meta.index]).toEqual([21, 20, 4, 20]);
      } else {
        expect({ where, report: b.recovery.droppedInstall, finishedInstall: b.recovery.finishedInstall }).toEqual({
          where,
          report: { index: 20, term: 4 },
          finishedInstall: undefined,
        });
        expect({ where, log: logOf(b), snapshot: b.snapshot() }).toEqual({
          where,
          log: describeEntries(makeEntries(1, 5, 1)),
          snapshot: undefined,
        });
      }
      expect({ where, intent: readWholeFile(fs, `${DIR}/installing`) }).toEqual({ where, intent: undefined });
      await drive(fs, b.close());
    }
  });

  test("an install with history cut by a power loss after any number of completed syncs leaves the old state or the complete new one", async () => {
    const history = makeEntries(25, 30, 3, 10, 7);
    const oldLog = describeEntries(makeEntries(1, 12, 1));
    let sawOld = 0;
    let sawNew = 0;
    for (let seed = 1; seed <= 12; seed++) {
      for (let k = 0; k <= 12; k++) {
        const fs = new SimFs({ syncMode: "manual" });
        const a = await openDriven(fs, { dir: DIR, maxSegmentBytes: 200 });
        a.append(makeEntries(1, 12, 1));
        await drive(fs, a.sync());
        const installed = a.installSnapshot(snapshotAt(30, 3, "new state"), { prevTerm: 2, entries: history }).then(
          () => true,
          () => false,
        );
        for (let i = 0; i < k; i++) {
          await Promise.race([fs.syncQueued(), installed]);
          fs.completeSyncs(1);
          await quiesce();
        }
        await quiesce();
        fs.crash({ prng: createPrng(seed * 100 + k) });
        const b = await openDriven(fs, { dir: DIR, maxSegmentBytes: 200 });
        const where = `seed ${seed}, crash after ${k} syncs`;
        if (b.snapshot()?.meta.index === 30) {
          sawNew++;
          expect({ where, log: logOf(b), before: b.term(24) }).toEqual({
            where,
            log: describeEntries(history),
            before: 2,
          });
        } else {
          sawOld++;
          expect({ where, snapshot: b.snapshot(), log: logOf(b) }).toEqual({ where, snapshot: undefined, log: oldLog });
        }
        expect(readWholeFile(fs, `${DIR}/installing`)).toBeUndefined();
        await b.close();
      }
    }
    // Both outcomes must have been exercised, or the loop above proved nothing.
    expect(sawOld).toBeGreaterThan(0);
    expect(sawNew).toBeGreaterThan(0);
  });
});
