import { describe, expect, test } from "bun:test";
import { errnoCode } from "../../src/storage/fs.ts";
import { LogStore } from "../../src/storage/log-store.ts";
import { SimFs } from "../../src/storage/sim-fs.ts";
import { snapshotAt } from "./log-store.case.ts";
import { describeEntries, makeEntries } from "./storage-env.ts";

const DIR = "/data/n1";

function logFiles(fs: SimFs): string[] {
  return fs
    .readdir(`${DIR}/log`)
    .filter((f) => f.endsWith(".seg"))
    .sort();
}

describe("a disk that fills up (ENOSPC)", () => {
  test("the simulated disk writes what fits, then fails with ENOSPC; freed space takes writes again", () => {
    const fs = new SimFs();
    fs.mkdir("/d");
    const fd = fs.open("/d/f", "w");
    fs.write(fd, new Uint8Array(60), 0);
    fs.capacityBytes = 100;
    let error: unknown;
    try {
      fs.write(fd, new Uint8Array(50).fill(7), 60);
    } catch (e) {
      error = e;
    }
    expect(errnoCode(error)).toBe("ENOSPC");
    expect(fs.size(fd)).toBe(100);
    // overwriting what the file holds takes no new space
    fs.write(fd, new Uint8Array(100).fill(1), 0);
    fs.capacityBytes = 200;
    fs.write(fd, new Uint8Array(50), 100);
    expect(fs.size(fd)).toBe(150);
  });

  test("a failed append is not made durable, the segment keeps whole records only, and a reopened store holds exactly what was synced", async () => {
    const fs = new SimFs();
    const store = await LogStore.open({ fs, dir: DIR });
    const synced = makeEntries(1, 20, 1, 100);
    store.append(synced);
    await store.sync();
    const [segment] = logFiles(fs);
    const path = `${DIR}/log/${segment}`;
    const before = fs.liveBytes(path).length;
    // room for two and a half more records
    fs.capacityBytes = fs.usedBytes() + 2 * 125 + 60;
    store.append(makeEntries(21, 30, 1, 100));
    await expect(store.sync()).rejects.toThrow("ENOSPC");
    expect(store.durableIndex).toBe(20);
    // the partial write was cut back: recovery has no torn record to judge
    expect(fs.liveBytes(path).length).toBe(before);
    await store.close();

    fs.capacityBytes = undefined;
    const again = await LogStore.open({ fs, dir: DIR });
    expect(again.recovery.tornTail).toBeUndefined();
    expect(again.lastIndex()).toBe(20);
    expect(describeEntries(again.entries(1, 21))).toEqual(describeEntries(synced));
    // and it takes appends again
    again.append(makeEntries(21, 22, 1, 100));
    await again.sync();
    expect(again.durableIndex).toBe(22);
    await again.close();
  });

  test("a new segment whose header does not fit leaves no file behind", async () => {
    const fs = new SimFs();
    const store = await LogStore.open({ fs, dir: DIR, maxSegmentBytes: 4096 });
    // 28 + 32 * 125 = 4028 bytes: the next record does not fit in the first segment
    const synced = makeEntries(1, 32, 1, 100);
    store.append(synced);
    await store.sync();
    expect(logFiles(fs)).toHaveLength(1);
    // the next append starts a second segment (sealing the first), and the disk has room for 10 bytes only
    fs.capacityBytes = fs.usedBytes() + 10;
    expect(() => store.append(makeEntries(33, 40, 1, 100))).toThrow("ENOSPC");
    expect(logFiles(fs)).toHaveLength(1);
    await store.close();
    fs.capacityBytes = undefined;
    const again = await LogStore.open({ fs, dir: DIR });
    expect(again.recovery.removedSegment).toBeUndefined();
    expect(again.lastIndex()).toBe(32);
    expect(describeEntries(again.entries(1, 33))).toEqual(describeEntries(synced));
    await again.close();
  });

  test("closed at its durable state after ENOSPC, the store reopens holding what was synced only: records written and not yet synced are cut too", async () => {
    const fs = new SimFs();
    const store = await LogStore.open({ fs, dir: DIR });
    const synced = makeEntries(1, 20, 1, 100);
    store.append(synced);
    await store.sync();
    // written to the file (the page cache) at the end of the turn, and not synced when the disk fills
    store.append(makeEntries(21, 25, 1, 100));
    await Bun.sleep(0);
    const [segment] = logFiles(fs);
    const path = `${DIR}/log/${segment}`;
    expect(fs.liveBytes(path).length).toBe(28 + 25 * 125);
    fs.capacityBytes = fs.usedBytes() + 60;
    store.append(makeEntries(26, 30, 1, 100));
    await Bun.sleep(0);
    expect(() => store.sync()).toThrow("failed earlier");
    expect(store.durableIndex).toBe(20);
    await store.closeAtDurableState();

    expect(fs.liveBytes(path).length).toBe(28 + 20 * 125);
    fs.capacityBytes = undefined;
    const again = await LogStore.open({ fs, dir: DIR });
    expect({ last: again.lastIndex(), torn: again.recovery.tornTail }).toEqual({ last: 20, torn: undefined });
    expect(describeEntries(again.entries(1, 21))).toEqual(describeEntries(synced));
    await again.close();
  });

  test("a newest segment of which nothing was synced is removed when the store is closed at its durable state", async () => {
    const fs = new SimFs();
    const store = await LogStore.open({ fs, dir: DIR, maxSegmentBytes: 4096 });
    store.append(makeEntries(1, 32, 1, 100));
    await store.sync();
    // a second segment (the first is sealed), written and not synced, then the disk fills
    store.append(makeEntries(33, 34, 1, 100));
    await Bun.sleep(0);
    expect(logFiles(fs)).toHaveLength(2);
    fs.capacityBytes = fs.usedBytes() + 10;
    store.append(makeEntries(35, 36, 1, 100));
    await Bun.sleep(0);
    expect(() => store.sync()).toThrow("failed earlier");
    await store.closeAtDurableState();
    expect(logFiles(fs)).toHaveLength(1);
    fs.capacityBytes = undefined;
    const again = await LogStore.open({ fs, dir: DIR });
    expect({ last: again.lastIndex(), removed: again.recovery.removedSegment }).toEqual({
      last: 32,
      removed: undefined,
    });
    await again.close();
  });

  test("closed at its durable state, the store first waits for a snapshot being written: its rename must not land on the next store's", async () => {
    const fs = new SimFs({ syncMode: "manual" });
    /** Completes syncs as they come until `p` settles. */
    const pumped = async <T>(p: Promise<T>): Promise<T> => {
      let settled = false;
      const done = p.finally(() => {
        settled = true;
      });
      while (!settled) {
        fs.completeSyncs();
        await Bun.sleep(1);
      }
      return done;
    };
    const store = await pumped(LogStore.open({ fs, dir: DIR }));
    store.append(makeEntries(1, 10, 1, 100));
    await pumped(store.sync());
    const saving = store.saveSnapshot(snapshotAt(10, 1));
    await fs.syncQueued();
    let closed = false;
    const closing = store.closeAtDurableState().then(() => {
      closed = true;
    });
    await Bun.sleep(1);
    expect({ closed, temp: fs.readdir(DIR).includes("snapshot.tmp") }).toEqual({ closed: false, temp: true });
    await pumped(closing);
    await saving;
    expect(fs.readdir(DIR).filter((f) => f.startsWith("snapshot"))).toEqual(["snapshot"]);
  });
});

test("a write that fails inside a read (entries further back than the tail mirror) fails the store: nothing lost is reported durable", async () => {
  const fs = new SimFs();
  const store = await LogStore.open({ fs, dir: DIR });
  // 600 entries of 4 KB (2.4 MB): index 10 is neither among the recent entries nor in the tail mirror
  store.append(makeEntries(1, 600, 1, 4000));
  await store.sync();
  store.append(makeEntries(601, 610, 1, 4000)); // written at the end of this turn, or by a read before it
  fs.capacityBytes = fs.usedBytes() + 10;
  expect(() => store.entries(10, 11)).toThrow("ENOSPC");
  fs.capacityBytes = undefined; // room again
  let reported = 600;
  try {
    store.append(makeEntries(611, 612, 1, 4000));
    await store.sync();
    reported = store.durableIndex;
  } catch {
    // refused: the store failed and must be reopened, as after any failed write
  }
  await store.close().catch(() => {});
  const reopened = await LogStore.open({ fs, dir: DIR });
  const held = reopened.lastIndex();
  await reopened.close();
  // what a sync reported durable, the log holds after a restart
  expect({ reported, heldAtLeastReported: held >= reported }).toEqual({ reported: 600, heldAtLeastReported: true });
});
