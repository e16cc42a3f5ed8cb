/**
 * A record torn by a power loss before its fsync is a torn tail even when its payload holds the bytes of sound
 * records (a client may publish anything, a copy of a segment file for one): the scan must not take bytes inside a
 * record it cannot read for records the log held. Found by review of the byte-by-byte search that called it
 * corruption, refused the start, and with repair marked the node damaged until index 1,000,000.
 */
import { expect, test } from "bun:test";
import { LogStore } from "../../src/storage/log-store.ts";
import { encodeRecords, recordSize } from "../../src/storage/record-codec.ts";
import { SimFs } from "../../src/storage/sim-fs.ts";
import type { Prng } from "../../src/util/prng.ts";
import { makeEntries } from "./storage-env.ts";

const DIR = "/data/node1";

/** Entries 1..3 synced, entry 4 (unsynced) carrying a record of `fakeIndex` in its data, torn after those bytes. */
async function tornOverEmbeddedRecord(fakeIndex: number): Promise<SimFs> {
  const fs = new SimFs();
  const s = await LogStore.open({ fs, dir: DIR, maxSegmentBytes: 1 << 20 });
  s.append(makeEntries(1, 3, 1));
  await s.sync();
  const fake = encodeRecords([{ index: fakeIndex, term: 1, kind: 0, data: new Uint8Array(8) }]);
  const data = new Uint8Array(100 + fake.length + 300).fill(0x55);
  data.set(fake, 100);
  s.append([{ index: 4, term: 1, kind: 0, data }]);
  // the write reaches the page cache at the end of this turn; it is never synced
  await new Promise((r) => setTimeout(r, 10));
  const tearAt = 25 + 100 + fake.length + 50;
  const size = recordSize(data.length);
  // the power loss keeps entry 4's write up to `tearAt` bytes, past the embedded record, short of the record's end
  const prng = { int: (lo: number, hi: number) => (hi === size ? tearAt : lo), chance: () => false } as unknown as Prng;
  fs.crash({ prng });
  return fs;
}

async function openOutcome(fs: SimFs, repair: boolean) {
  try {
    const t = await LogStore.open({ fs, dir: DIR, maxSegmentBytes: 1 << 20, repair });
    const outcome = { last: t.lastIndex(), damage: t.damage, torn: t.recovery.tornTail?.offset };
    await t.close();
    return outcome;
  } catch (e) {
    return { refused: (e as Error).message };
  }
}

for (const fakeIndex of [1_000_000, 5]) {
  test(`a torn unsynced record whose data holds a sound record of index ${fakeIndex} is a torn tail`, async () => {
    const fs = await tornOverEmbeddedRecord(fakeIndex);
    // entry 4's record starts after the header (28 bytes) and three records of makeEntries' default size
    const start = 28 + 3 * recordSize(makeEntries(1, 1, 1)[0]?.data.length ?? 0);
    expect(await openOutcome(fs, false)).toEqual({ last: 3, damage: undefined, torn: start });
  });
}

test("with repair the same torn write leaves no damage marker", async () => {
  const fs = await tornOverEmbeddedRecord(1_000_000);
  expect(await openOutcome(fs, true)).toMatchObject({ last: 3, damage: undefined });
});
