import { heapStats } from "bun:jsc";
import { afterEach, describe, expect, test } from "bun:test";
import { EntryKind } from "../../src/raft/log-types.ts";
import { LogStore } from "../../src/storage/log-store.ts";
import { realEnv, type StorageEnv } from "./storage-env.ts";

let env: StorageEnv | undefined;
let store: LogStore | undefined;
afterEach(async () => {
  await store?.close();
  await env?.cleanup();
  store = undefined;
  env = undefined;
});

const ENTRY_BYTES = 64 << 10;
const ENTRIES = 128;

/** Entry buffers (64 KiB each, the only ones that large here) alive after a full collection. */
function bigBuffersAlive(): number {
  Bun.gc(true);
  return (heapStats().objectTypeCounts as Record<string, number>).Uint8Array ?? 0;
}

describe("the log store's cache of appended entries", () => {
  test("holds at most 4 MiB of them as objects: the rest of the tail is mirrored as bytes", async () => {
    // Entries held for longer than the young generation lives are promoted and then stay as garbage until the next
    // full collection; with 8 MiB of them held, a broker under load kept 60 to 100 MB of dead entry buffers.
    env = await realEnv();
    store = await LogStore.open({ fs: env.fs, dir: env.dir });
    const before = bigBuffersAlive();
    for (let index = 1; index <= ENTRIES; index++) {
      store.append([{ index, term: 1, kind: EntryKind.Normal, data: new Uint8Array(ENTRY_BYTES).fill(index) }]);
      await store.sync();
    }
    const held = bigBuffersAlive() - before;
    const limit = (4 << 20) / ENTRY_BYTES + 4;
    if (held > limit) {
      throw new Error(`expected at most ${limit} entries held after appending ${ENTRIES} of 64 KiB, ${held} were`);
    }
    // every entry still reads back, from the mirror or the file
    const read = store.entries(1, ENTRIES + 1, Number.POSITIVE_INFINITY);
    expect(read.map((e) => e.data[0])).toEqual(Array.from({ length: ENTRIES }, (_, i) => (i + 1) & 0xff));
  });

  test("with the tail mirror and the write buffer, the caches of the tail hold at most 7 MiB (8 MiB of entries: 11)", async () => {
    // Everything a broker keeps alive raises the heap its collector lets grow before a full collection by four to five
    // times as much: a tail mirror of 8 MiB was a third of what a broker under load kept alive (docs/memory.md).
    env = await realEnv();
    store = await LogStore.open({ fs: env.fs, dir: env.dir });
    const s = store;
    const held = () => {
      const use = s.cacheUse();
      return use.recentBytes + use.mirrorCapacity + use.writeBufferBytes;
    };
    let index = 0;
    let most = 0;
    for (const [count, bytes, limit] of [
      [ENTRIES, ENTRY_BYTES, 7 << 20],
      [16, 1 << 20, 11 << 20],
    ] as const) {
      for (let i = 0; i < count; i++) {
        index++;
        s.append([{ index, term: 1, kind: EntryKind.Normal, data: new Uint8Array(bytes).fill(index) }]);
        await s.sync();
        most = Math.max(most, held());
      }
      if (most > limit) {
        throw new Error(
          `expected at most ${limit} bytes held with entries of ${bytes} bytes, ${most} were: ${JSON.stringify(s.cacheUse())}`,
        );
      }
    }
    // and the whole log still reads back, from the caches and the file
    const read = s.entries(1, index + 1, Number.POSITIVE_INFINITY);
    expect(read.map((e) => e.data[0])).toEqual(Array.from({ length: index }, (_, i) => (i + 1) & 0xff));
  });
});
