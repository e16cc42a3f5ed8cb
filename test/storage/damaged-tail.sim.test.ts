/**
 * Damage to fsynced records of the newest segment is corruption, not a torn tail: a torn write can
 * only cut what was never fsynced, so sound records after the bad bytes prove they were once whole.
 * A repair of such damage (and of a bad header) must keep the node from voting until its log
 * reaches again every index the files may have held.
 */
import { describe, expect, test } from "bun:test";
import { LogStore } from "../../src/storage/log-store.ts";
import { SEGMENT_HEADER_SIZE } from "../../src/storage/record-codec.ts";
import { isMqraftError } from "../../src/util/errors.ts";
import { logOf, REC } from "./log-store.case.ts";
import { describeEntries, fileBytes, flipBit, makeEntries, segmentPaths, setFileBytes, simEnv } from "./storage-env.ts";

/** 20 entries written and synced (in one segment unless `segmentBytes`); returns the env and the newest segment. */
async function twentySynced(segmentBytes = 1 << 20) {
  const env = simEnv();
  const s = await LogStore.open({ fs: env.fs, dir: env.dir, maxSegmentBytes: segmentBytes });
  s.append(makeEntries(1, 20, 1));
  await s.sync();
  await s.close();
  const paths = segmentPaths(env.fs, env.dir);
  return { env, paths, newest: paths.at(-1) as string };
}

async function openOutcome(env: ReturnType<typeof simEnv>, repair: boolean) {
  try {
    const s = await LogStore.open({ fs: env.fs, dir: env.dir, maxSegmentBytes: 1 << 20, repair });
    const outcome = {
      last: s.lastIndex(),
      damage: s.damage === undefined ? undefined : { from: s.damage.fromIndex, until: s.damage.untilIndex },
      torn: s.recovery.tornTail !== undefined || s.recovery.removedSegment !== undefined,
      log: logOf(s),
    };
    await s.close();
    return outcome;
  } catch (e) {
    if (isMqraftError(e, "CORRUPT")) return { refused: e.message };
    throw e;
  }
}

/** Writes `value` as record 2's length field (the record right after the first). */
function setLength(env: ReturnType<typeof simEnv>, path: string, value: number): void {
  const bytes = fileBytes(env.fs, path).slice();
  new DataView(bytes.buffer).setUint32(SEGMENT_HEADER_SIZE + REC, value);
  setFileBytes(env.fs, path, bytes);
}

describe("damage before sound records in the newest segment", () => {
  const lengths: [string, (real: number) => number][] = [
    ["bit 3 of byte 1 flipped (too long for the file)", (real) => real ^ (1 << 19)],
    ["out of range", () => 0xffffffff],
    ["below a record's minimum", () => 3],
    ["plausible but one byte long", (real) => real + 1],
    ["plausible but one byte short", (real) => real - 1],
  ];
  for (const [what, damage] of lengths) {
    test(`a length field ${what} refuses the start; a repair keeps index 1 and is damaged until 20`, async () => {
      const { env, newest } = await twentySynced();
      const real = new DataView(fileBytes(env.fs, newest).buffer).getUint32(SEGMENT_HEADER_SIZE + REC);
      setLength(env, newest, damage(real));
      const refused = await openOutcome(env, false);
      expect(refused).toMatchObject({ refused: expect.stringContaining("(index 2)") });
      const repaired = await openOutcome(env, true);
      expect(repaired).toEqual({
        last: 1,
        damage: { from: 2, until: 20 },
        torn: false,
        log: describeEntries(makeEntries(1, 1, 1)),
      });
    });
  }

  test("an all-zero header of the newest segment with sound records after it refuses the start", async () => {
    const { env, newest, paths } = await twentySynced(SEGMENT_HEADER_SIZE + 8 * REC);
    expect(paths.length).toBe(3);
    const bytes = fileBytes(env.fs, newest).slice();
    bytes.fill(0, 0, SEGMENT_HEADER_SIZE);
    setFileBytes(env.fs, newest, bytes);
    expect(await openOutcome(env, false)).toMatchObject({ refused: expect.stringContaining("(index 17)") });
    expect(await openOutcome(env, true)).toMatchObject({ last: 16, damage: { from: 17, until: 20 }, torn: false });
  });

  test("a repaired bad header of the newest segment keeps the node damaged until the last index it held", async () => {
    const { env, newest } = await twentySynced(SEGMENT_HEADER_SIZE + 8 * REC);
    flipBit(env.fs, newest, 5);
    expect(await openOutcome(env, false)).toMatchObject({ refused: expect.stringContaining("(index 17)") });
    expect(await openOutcome(env, true)).toMatchObject({ last: 16, damage: { from: 17, until: 20 } });
    // the marker survives the next start: the node has not caught up
    expect(await openOutcome(env, false)).toMatchObject({ last: 16, damage: { from: 17, until: 20 } });
  });

  test("a bad header whose records are damaged too: the node stays damaged up to what the file's size could hold", async () => {
    const { env, newest } = await twentySynced(SEGMENT_HEADER_SIZE + 8 * REC);
    const bytes = fileBytes(env.fs, newest).slice();
    for (let i = 0; i < bytes.length; i++) bytes[i] = (bytes[i] as number) ^ 0x5a;
    setFileBytes(env.fs, newest, bytes);
    const repaired = await openOutcome(env, true);
    expect(repaired).toMatchObject({ last: 16, damage: { from: 17 } });
    expect((repaired as { damage: { until: number } }).damage.until).toBeGreaterThanOrEqual(20);
  });

  test("a torn last record and zeros after the last record are still cut as a torn tail", async () => {
    const { env, newest } = await twentySynced();
    const bytes = fileBytes(env.fs, newest);
    setFileBytes(env.fs, newest, bytes.subarray(0, bytes.length - 3));
    expect(await openOutcome(env, false)).toMatchObject({ last: 19, damage: undefined, torn: true });
    setFileBytes(env.fs, newest, new Uint8Array([...bytes.subarray(0, bytes.length - REC), ...new Uint8Array(500)]));
    expect(await openOutcome(env, false)).toMatchObject({ last: 19, damage: undefined, torn: true });
  });
});
