import { describe, expect, test } from "bun:test";
import type { Entry } from "../../src/raft/log-types.ts";
import { recordSize, SEGMENT_HEADER_SIZE } from "../../src/storage/record-codec.ts";
import type { MqraftError } from "../../src/util/errors.ts";
import { logOf, useStorageEnv } from "./log-store.case.ts";
import {
  describeEntries,
  fileBytes,
  flipBit,
  makeEntries,
  makeEntry,
  segmentPaths,
  setFileBytes,
  simEnv,
} from "./storage-env.ts";

/**
 * A sector of a record that reads as zeros is proof of a torn write only when the record, as written, could not hold
 * zeros there. Records are not aligned, so the part of a record in its first sector can be one to three bytes: the
 * high bytes of its length field, zero in every record shorter than 256 bytes. Reading them as proof let a single bit
 * flipped in an fsynced record (and every acknowledged record after it in the newest segment) be cut as a torn tail.
 */
describe("sector evidence of a torn write (simulated fs)", () => {
  const { env, open } = useStorageEnv(async () => simEnv());

  /** Writes entry 1 as padding so that entry 2 starts at `residue` modulo 512, then entries 2..5 durably. */
  async function writeAt(residue: number, dataSize: number, last = 5): Promise<{ path: string; start: number }> {
    const pad = residue - SEGMENT_HEADER_SIZE - recordSize(0);
    const entries: Entry[] = [makeEntry(1, 1, pad), ...makeEntries(2, last, 1, dataSize)];
    const s = await open({ maxSegmentBytes: 1 << 20 });
    s.append(entries);
    await s.sync();
    await s.close();
    const path = segmentPaths(env().fs, env().dir).at(-1) as string;
    const start = SEGMENT_HEADER_SIZE + recordSize(pad);
    expect(start % 512).toBe(residue);
    return { path, start };
  }

  /** The open is refused as corrupt at entry 2; a store that opens instead has cut fsynced entries as a torn tail. */
  async function expectCorruptAt(path: string, start: number, label: object): Promise<void> {
    const outcome = await open().then(
      (s) => ({ opened: `log ${logOf(s).length} entries, torn tail cut at byte ${s.recovery.tornTail?.offset}` }),
      (e: unknown) => ({ code: (e as MqraftError).code, message: (e as Error).message }),
    );
    expect({ ...label, ...outcome }).toEqual({
      ...label,
      code: "CORRUPT",
      message: expect.stringContaining(`log segment ${path} is corrupt at byte ${start} (index 2)`),
    });
  }

  for (const residue of [509, 510, 511]) {
    test(`one bit flipped in any byte of a record starting at byte ${residue} of a sector is corruption`, async () => {
      // the record's part of its first sector is the high bytes of its length field, zero as written
      const { path, start } = await writeAt(residue, 10);
      const bytes = fileBytes(env().fs, path);
      for (let at = start; at < start + recordSize(10); at++) {
        setFileBytes(env().fs, path, bytes);
        flipBit(env().fs, path, at, at % 8);
        await expectCorruptAt(path, start, { residue, at });
      }
    });
  }

  test("the one set bit of a length field alone in its sector, flipped, is corruption (the safe side)", async () => {
    // length 32 (15 data bytes): one flipped bit leaves the field all zeros, as a lost sector would; the checksum holds
    // with the length one bit away, so a flip explains it as well, and a refused start (repair) loses nothing
    const { path, start } = await writeAt(508, 32 - 17);
    flipBit(env().fs, path, start + 3, 5);
    expect(fileBytes(env().fs, path).subarray(start, start + 4)).toEqual(new Uint8Array(4));
    await expectCorruptAt(path, start, { residue: 508 });
  });

  test("a lost first sector holding the nonzero high bytes of a length field is still a torn write", async () => {
    // length 817 = 0x331: its high bytes (0x000003) lie in the first sector, losing it makes the field read 0x31; the
    // checksum holds with the length restored there (two bits: no single flip explains it)
    const { path, start } = await writeAt(509, 817 - 17, 2);
    const bytes = fileBytes(env().fs, path);
    expect(start + recordSize(800)).toBe(bytes.length);
    bytes.fill(0, start, start + 3);
    setFileBytes(env().fs, path, bytes);
    const s = await open();
    expect({ log: logOf(s), damage: s.damage }).toEqual({
      log: describeEntries([makeEntry(1, 1, 456)]),
      damage: undefined,
    });
    expect(s.recovery.tornTail?.offset).toBe(start);
    await s.close();
  });

  test("an empty entry ending the file whose kind byte alone is in the last sector: a flipped bit is corruption", async () => {
    // a normal entry's kind byte is 0 as written, so its sector reading zeros proves nothing (a leader's first entry)
    const s = await open({ maxSegmentBytes: 1 << 20 });
    const residue = 512 - recordSize(0) + 1;
    const pad = residue - SEGMENT_HEADER_SIZE - recordSize(0);
    s.append([makeEntry(1, 1, pad), { index: 2, term: 1, kind: 0, data: new Uint8Array(0) }]);
    await s.sync();
    await s.close();
    const path = segmentPaths(env().fs, env().dir).at(-1) as string;
    const start = SEGMENT_HEADER_SIZE + recordSize(pad);
    expect(start % 512).toBe(residue);
    flipBit(env().fs, path, start + 20, 0); // in the term field
    await expectCorruptAt(path, start, { residue });
  });
});
