/**
 * A broker on an empty folder whose cluster already runs must never be left, by a crash or a failed write during its
 * first start, with a folder that is no longer new yet holds no damage marker: the next start would then vote at once
 * (docs/storage.md, "An empty data folder").
 */
import { expect, test } from "bun:test";
import { found } from "../../src/node/assembly-boot.ts";
import type { AssemblyOptions } from "../../src/node/assembly-options.ts";
import { LogStore } from "../../src/storage/log-store.ts";
import { SimFs } from "../../src/storage/sim-fs.ts";
import type { Logger } from "../../src/util/log.ts";

const DIR = "/data/3";
const quiet: Logger = { error() {}, warn() {}, info() {}, debug() {}, trace() {}, enabled: () => false };
const options = {
  id: 3,
  dataDir: DIR,
  log: quiet,
  founders: [1, 2, 3].map((id) => ({ id, address: `127.0.0.1:${8000 + id}` })),
  askCluster: async () => ({ term: 7, untilIndex: 500, floorTerm: 7, answered: [1, 2] }),
} as unknown as AssemblyOptions;

test("the damage marker's write failing on the first start leaves the folder new, not founded without a marker", async () => {
  const fs = new SimFs();
  const store = await LogStore.open({ fs, dir: DIR });
  // the marker is a file of its own: a full disk or a kill can stop its write after the log's
  store.markDamaged = () => Promise.reject(new Error("ENOSPC: no space left on device"));
  await expect(found(store, options)).rejects.toThrow("ENOSPC");
  await store.close();

  const reopened = await LogStore.open({ fs, dir: DIR });
  const fresh = reopened.lastIndex() === 0 && reopened.hardState().term === 0;
  expect({ fresh, marked: reopened.damage !== undefined }).toEqual({ fresh: true, marked: false });
  await reopened.close();
});

test("a first start that completes leaves the founding entries, the cluster's term and the marker", async () => {
  const fs = new SimFs();
  const store = await LogStore.open({ fs, dir: DIR });
  await found(store, options);
  await store.close();

  const reopened = await LogStore.open({ fs, dir: DIR });
  expect(reopened.lastIndex()).toBeGreaterThan(0);
  // its vote in term 7 is taken: it may have voted there before it lost its folder
  expect(reopened.hardState()).toMatchObject({ term: 7, vote: 3 });
  expect(reopened.damage).toMatchObject({ untilIndex: 500, aboveTerm: 7 });
  await reopened.close();
});

/** Runs `work` on a manual-sync disk, completing its syncs one at a time, until it ends or `budget` syncs are done. */
async function drive(fs: SimFs, work: Promise<unknown>, budget = Number.POSITIVE_INFINITY): Promise<boolean> {
  let ended = false;
  const settled = work.then(
    () => {
      ended = true;
    },
    () => {
      ended = true;
    },
  );
  for (let done = 0; ; done++) {
    await Promise.race([settled, fs.syncQueued()]);
    if (ended) return true;
    if (done === budget) return false;
    fs.completeSyncs(1);
  }
}

test("a power loss at any point of the first start leaves a new folder, or the marker with the cluster's term", async () => {
  const seen: string[] = [];
  for (let budget = 0; ; budget++) {
    const fs = new SimFs({ syncMode: "manual" });
    const opening = LogStore.open({ fs, dir: DIR });
    await drive(fs, opening);
    const store = await opening;
    const ended = await drive(fs, found(store, options), budget);
    fs.crash();
    const reopening = LogStore.open({ fs, dir: DIR });
    await drive(fs, reopening);
    const reopened = await reopening;
    const fresh = reopened.lastIndex() === 0 && reopened.hardState().term === 0;
    const state = fresh
      ? "new"
      : `entries ${reopened.lastIndex()}, term ${reopened.hardState().term}, vote ${reopened.hardState().vote}, marker ${reopened.damage !== undefined}`;
    seen.push(`after ${budget} syncs: ${state}`);
    // not new: it will not ask again, so it must keep out of every term the cluster reached and wait for its log
    if (!fresh) expect(seen.at(-1)).toMatch(/term 7, vote 3, marker true$/);
    await reopened.close();
    if (ended) break;
  }
  expect(seen.at(-1)).toMatch(/entries [1-9]\d*, term 7, vote 3, marker true$/);
});
