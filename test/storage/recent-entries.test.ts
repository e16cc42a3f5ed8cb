import { describe, expect, test } from "bun:test";
import type { Entry } from "../../src/raft/log-types.ts";
import { RecentEntries } from "../../src/storage/recent-entries.ts";

const entry = (index: number, size = 10): Entry => ({ index, term: 1, kind: 0, data: new Uint8Array(size) });
const run = (lo: number, hi: number, size = 10): Entry[] =>
  Array.from({ length: hi - lo + 1 }, (_, i) => entry(lo + i, size));
const indexes = (entries: Entry[] | undefined): number[] | undefined => entries?.map((e) => e.index);

describe("recent entries", () => {
  test("the tail is read back as appended; what is not held is undefined", () => {
    const r = new RecentEntries(4, 1 << 20);
    r.push(run(1, 6));
    expect(indexes(r.read(3, 7, Infinity))).toEqual([3, 4, 5, 6]);
    expect(r.read(2, 4, Infinity)).toBeUndefined();
    expect(r.read(5, 8, Infinity)).toBeUndefined();
    expect(r.read(5, 5, Infinity)).toBeUndefined();
  });

  test("a byte budget keeps at least the last entry; reads stop before maxBytes but return one entry", () => {
    const r = new RecentEntries(100, 25);
    r.push(run(1, 5));
    expect(indexes(r.read(4, 6, Infinity))).toEqual([4, 5]);
    expect(r.read(3, 6, Infinity)).toBeUndefined();
    expect(indexes(r.read(4, 6, 5))).toEqual([4]);
    r.push([entry(6, 100)]);
    expect(indexes(r.read(6, 7, Infinity))).toEqual([6]);
    expect(r.read(5, 7, Infinity)).toBeUndefined();
  });

  test("truncation drops the cut entries; an append that is not contiguous starts over", () => {
    const r = new RecentEntries(100, 1 << 20);
    r.push(run(1, 5));
    r.truncateFrom(4);
    expect(r.read(3, 5, Infinity)).toBeUndefined();
    r.push([{ ...entry(4), term: 2 }]);
    expect(r.read(1, 5, Infinity)?.map((e) => e.term)).toEqual([1, 1, 1, 2]);
    r.push(run(10, 11));
    expect(r.read(4, 5, Infinity)).toBeUndefined();
    expect(indexes(r.read(10, 12, Infinity))).toEqual([10, 11]);
    r.clear();
    expect(r.read(10, 11, Infinity)).toBeUndefined();
  });

  test("the last few large entries stay up to the larger budget; small ones are held to the smaller one", () => {
    // 100 bytes and 3 entries by default, the last 3 up to 250 bytes
    const r = new RecentEntries(100, 100, 3, 250);
    r.push(run(1, 4, 80));
    expect({ large: indexes(r.read(2, 5, Infinity)), older: r.read(1, 5, Infinity) }).toEqual({
      large: [2, 3, 4],
      older: undefined,
    });
    r.push([entry(5, 120)]);
    // 80 + 80 + 120 = 280 is over 250: only two stay
    expect({ large: indexes(r.read(4, 6, Infinity)), older: r.read(3, 6, Infinity) }).toEqual({
      large: [4, 5],
      older: undefined,
    });
    r.push(run(6, 20, 10));
    // small entries: the 100-byte budget decides (10 of them), not the count of 3
    expect({ small: indexes(r.read(11, 21, Infinity))?.length, older: r.read(10, 21, Infinity) }).toEqual({
      small: 10,
      older: undefined,
    });
  });

  test("a long run keeps only the newest entries", () => {
    const r = new RecentEntries(8, 1 << 20);
    for (let i = 1; i <= 5000; i += 10) r.push(run(i, i + 9));
    expect(indexes(r.read(4993, 5001, Infinity))).toEqual([4993, 4994, 4995, 4996, 4997, 4998, 4999, 5000]);
    expect(r.read(4992, 5001, Infinity)).toBeUndefined();
  });
});

describe("recent entries release what they drop", () => {
  test("an entry dropped by the budget is no longer reachable from the cache", () => {
    // Before the fix, dropped entries stayed in the list until 1,024 had been dropped: with entries of a
    // batch of publishes (up to a megabyte each) that was hundreds of megabytes the budget did not count.
    const r = new RecentEntries(4096, 8 * 1024);
    const refs: WeakRef<Uint8Array>[] = [];
    for (let i = 1; i <= 1000; i++) {
      const e = entry(i, 1024);
      refs.push(new WeakRef(e.data));
      r.push([e]);
    }
    Bun.gc(true);
    const alive = refs.filter((ref) => ref.deref() !== undefined).length;
    // the budget holds 8 entries; a few more may be kept by the collector's conservative scan of the stack
    if (alive > 50) throw new Error(`expected at most 50 of 1,000 entries reachable after a full GC, found ${alive}`);
    expect(indexes(r.read(993, 1001, Infinity))).toEqual([993, 994, 995, 996, 997, 998, 999, 1000]);
  });
});
