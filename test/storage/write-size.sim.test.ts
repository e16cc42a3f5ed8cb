import { afterEach, expect, test } from "bun:test";
import { LogStore } from "../../src/storage/log-store.ts";
import { SimFs } from "../../src/storage/sim-fs.ts";
import { describeEntries, makeEntries } from "./storage-env.ts";

const MiB = 1 << 20;

/** A simulated disk that records the size of every write. */
class CountingFs extends SimFs {
  readonly writes: number[] = [];
  override write(fd: number, data: Uint8Array, position: number): void {
    this.writes.push(data.length);
    super.write(fd, data, position);
  }
}

let store: LogStore | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

test("a turn's records go to the file in writes of at most 2 MiB, so the write buffer kept stays within 2 MiB", async () => {
  // The buffer a write is encoded into is kept for the next, and its pages stay resident: with a whole turn in one
  // write, a broker kept, at rest, a buffer as large as the largest turn it had written (up to 8 MiB).
  const fs = new CountingFs();
  // no cache: the entries are read back from the file
  store = await LogStore.open({ fs, dir: "/data/node1", cacheBytes: 0 });
  const large = makeEntries(1, 12, 1, 700_000);
  const more = makeEntries(13, 15, 1, 300_000);
  store.append(large);
  store.append(more);
  await store.sync();
  const largest = Math.max(...fs.writes);
  if (largest > 2 * MiB) throw new Error(`expected writes of at most 2 MiB, the largest was ${largest} bytes`);
  expect(store.cacheUse().writeBufferBytes).toBeLessThanOrEqual(2 * MiB);
  expect(describeEntries(store.entries(1, 16))).toEqual(describeEntries([...large, ...more]));
});
