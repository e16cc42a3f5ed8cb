import { expect, test } from "bun:test";
import { LogStore } from "../../src/storage/log-store.ts";
import { SEGMENT_HEADER_SIZE } from "../../src/storage/record-codec.ts";
import { SimFs } from "../../src/storage/sim-fs.ts";
import { CrashPointFs } from "./crash-point-fs.ts";
import { REC, snapshotAt } from "./log-store.case.ts";
import { flipBit, makeEntries, segmentPaths } from "./storage-env.ts";

const DIR = "/data";

/** Entries 1..12 in one segment, a snapshot at 9, and a flipped bit in the record of index 4. */
async function corruptFolder(): Promise<SimFs> {
  const sim = new SimFs();
  const s = await LogStore.open({ fs: sim, dir: DIR, maxSegmentBytes: 1 << 20 });
  s.append(makeEntries(1, 12, 1));
  await s.sync();
  await s.saveSnapshot(snapshotAt(9, 1));
  await s.close();
  flipBit(sim, segmentPaths(sim, DIR)[0] as string, SEGMENT_HEADER_SIZE + 3 * REC + 30);
  return sim;
}

test("a repair cut by a power loss after any of its operations still marks the node damaged until everything its files held", async () => {
  const probe = new CrashPointFs(await corruptFolder());
  await (await LogStore.open({ fs: probe, dir: DIR, repair: true, maxSegmentBytes: 1 << 20 })).close();
  const operations = probe.ops;
  expect(operations).toBeGreaterThan(10);
  for (let k = 0; k <= operations; k++) {
    const sim = await corruptFolder();
    const cp = new CrashPointFs(sim);
    cp.crashAfter(k);
    // The dead process's open fails, or it finished and its close fails: either way the disk is what the crash left.
    await LogStore.open({ fs: cp, dir: DIR, repair: true, maxSegmentBytes: 1 << 20 }).then(
      (s) => s.close().catch(() => undefined),
      () => undefined,
    );
    const after = await LogStore.open({ fs: sim, dir: DIR, repair: true, maxSegmentBytes: 1 << 20 });
    expect({
      k,
      untilIndex: after.damage?.untilIndex,
      snapshot: after.snapshot()?.meta.index,
      last: after.lastIndex(),
    }).toEqual({
      k,
      untilIndex: 12,
      snapshot: undefined,
      last: 3,
    });
    await after.close();
  }
});
