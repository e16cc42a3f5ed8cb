import { describe, expect, test } from "bun:test";
import { ProducerWindow, SEQS_PER_PRODUCER } from "../../src/broker/producer-window.ts";
import { createPrng } from "../../src/util/prng.ts";

/** The window the plain way: a sorted list of the highest SEQS_PER_PRODUCER seqs recorded. */
class PlainWindow {
  readonly seqs: number[] = [];
  readonly offsets = new Map<number, number>();

  has(seq: number): boolean {
    return this.offsets.has(seq);
  }

  record(seq: number, offset: number): void {
    if (this.seqs.length === SEQS_PER_PRODUCER && seq < (this.seqs[0] as number)) return;
    let lo = 0;
    let hi = this.seqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.seqs[mid] as number) < seq) lo = mid + 1;
      else hi = mid;
    }
    this.seqs.splice(lo, 0, seq);
    this.offsets.set(seq, offset);
    if (this.seqs.length > SEQS_PER_PRODUCER) this.offsets.delete(this.seqs.shift() as number);
  }
}

describe("producer window", () => {
  test.each([3, 11])(
    "agrees with a plain sorted list over seqs mostly in order, some late, some very late (seed %i)",
    (seed) => {
      const prng = createPrng(seed);
      const window = new ProducerWindow("p", 0);
      const plain = new PlainWindow();
      let high = 0;
      const mismatches: string[] = [];
      for (let step = 0; step < 40_000; step++) {
        const roll = prng.next();
        const seq = roll < 0.8 ? ++high : roll < 0.95 ? Math.max(0, high - prng.int(0, 50)) : prng.int(0, high);
        const at = window.find(seq);
        if (at >= 0 !== plain.has(seq))
          mismatches.push(`step ${step}: seq ${seq} found=${at >= 0}, expected ${plain.has(seq)}`);
        else if (at >= 0 && window.offset[at] !== plain.offsets.get(seq))
          mismatches.push(`step ${step}: seq ${seq} at offset ${window.offset[at]}`);
        else if (at < 0) {
          window.record(seq, 0, step);
          plain.record(seq, step);
        }
      }
      expect(mismatches.slice(0, 5)).toEqual([]);
      expect(window.count).toBe(plain.seqs.length);
      expect(Array.from(window.seq.subarray(window.head, window.tail))).toEqual(plain.seqs);
      expect(window.count).toBe(SEQS_PER_PRODUCER);
    },
  );
});
