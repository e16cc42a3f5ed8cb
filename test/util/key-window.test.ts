import { describe, expect, test } from "bun:test";
import { KeyWindow } from "../../src/util/key-window.ts";
import { createPrng } from "../../src/util/prng.ts";

/** KeyWindow against a Map: the same operations, the same answers and the same order. */
describe("KeyWindow", () => {
  test("random operations as a group makes them give what a Map gives, order included (30 seeds)", () => {
    for (let seed = 1; seed <= 30; seed++) {
      const prng = createPrng(seed);
      const index = new KeyWindow<string>();
      const map = new Map<number, string>();
      let cursor = prng.int(0, 10);
      const live = () => [...map.keys()];
      for (let step = 0; step < 3000; step++) {
        const roll = prng.next();
        let key: number;
        if (roll < 0.4) {
          // handed out: the next keys, now and then past a gap (dropped) or a jump (retention)
          cursor += prng.chance(0.1) ? prng.int(2, 20) : prng.chance(0.01) ? prng.int(5000, 20000) : 1;
          key = cursor;
          index.set(key, `a${step}`);
          map.set(key, `a${step}`);
        } else if (roll < 0.75 && map.size > 0) {
          // settled: mostly the oldest, sometimes any
          const keys = live();
          key = prng.chance(0.7) ? (keys[0] as number) : prng.pick(keys);
          expect(index.delete(key)).toBe(map.delete(key));
        } else if (roll < 0.85 && map.size > 0) {
          // extended (progress): set again, keeps its place
          key = prng.pick(live());
          index.set(key, `p${step}`);
          map.set(key, `p${step}`);
        } else if (roll < 0.95) {
          // handed out again (a redelivery), or a key never out
          key = prng.int(Math.max(0, cursor - 30000), cursor);
          if (prng.chance(0.5)) {
            index.set(key, `r${step}`);
            map.set(key, `r${step}`);
          } else expect(index.delete(key)).toBe(map.delete(key));
        } else key = prng.int(0, cursor + 10);
        expect(index.get(key)).toBe(map.get(key));
        expect(index.has(key)).toBe(map.has(key));
        expect(index.size).toBe(map.size);
        if (step % 100 === 99) expect([...index]).toEqual([...map]);
      }
      expect([...index]).toEqual([...map]);
      expect([...index.values()]).toEqual([...map.values()]);
    }
  });

  test("one key held far behind while many come and go: the window stays within twice its live keys", () => {
    const index = new KeyWindow<number>();
    index.set(0, 0);
    // how far the window went past twice the live keys (a window from key 0 on would hold 200,001 slots)
    let over = 0;
    for (let key = 1; key <= 200_000; key++) {
      index.set(key, key);
      over = Math.max(over, index.slotsKept - 2 * index.size);
      if (key > 100) index.delete(key - 100);
    }
    expect(index.get(0)).toBe(0);
    expect(index.size).toBe(101);
    expect(over).toBeLessThanOrEqual(4096);
    expect([...index].map(([k]) => k)).toEqual([0, ...Array.from({ length: 100 }, (_, i) => 199_901 + i)]);
  });
});
