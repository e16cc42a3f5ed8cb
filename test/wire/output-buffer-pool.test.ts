import { describe, expect, test } from "bun:test";
import { AssertionError } from "../../src/util/assert.ts";
import { OutputBufferPool } from "../../src/wire/output-buffer-pool.ts";
import { waitFor } from "../support/wait.ts";

const MiB = 1 << 20;

describe("OutputBufferPool", () => {
  test("keeps at most its count and bytes, of the sizes worth keeping, and hands each back once", () => {
    const pool = new OutputBufferPool(3, 5 * MiB, MiB, 4 * MiB);
    pool.give(new ArrayBuffer(MiB - 1)); // too small to be worth keeping
    pool.give(new ArrayBuffer(4 * MiB + 1)); // grown by a rare batch
    expect(pool.use).toEqual({ buffers: 0, bytes: 0 });
    for (let i = 0; i < 10; i++) pool.give(new ArrayBuffer(2 * MiB));
    expect(pool.use).toEqual({ buffers: 2, bytes: 4 * MiB });
    pool.give(new ArrayBuffer(MiB));
    expect(pool.use).toEqual({ buffers: 3, bytes: 5 * MiB });
    pool.give(new ArrayBuffer(MiB)); // over the count
    expect(pool.use).toEqual({ buffers: 3, bytes: 5 * MiB });
    const taken = [pool.take(), pool.take(), pool.take()];
    expect(taken.map((b) => b?.byteLength)).toEqual([MiB, 2 * MiB, 2 * MiB]);
    expect(new Set(taken.map((b) => b?.buffer)).size).toBe(3);
    expect(pool.take()).toBeUndefined();
    expect(pool.use).toEqual({ buffers: 0, bytes: 0 });
  });

  test("a buffer given back while the pool still holds it is a broken invariant", () => {
    const pool = new OutputBufferPool(4, 8 * MiB, MiB, 4 * MiB);
    const buffer = new ArrayBuffer(2 * MiB);
    pool.give(buffer);
    expect(() => pool.give(buffer)).toThrow(AssertionError);
  });

  test("buffers neither given nor taken for a while are let go: a broker at rest keeps none", async () => {
    const pool = new OutputBufferPool(4, 8 * MiB, MiB, 4 * MiB, 20);
    pool.give(new ArrayBuffer(2 * MiB));
    pool.give(new ArrayBuffer(2 * MiB));
    expect(pool.use).toEqual({ buffers: 2, bytes: 4 * MiB });
    await waitFor("the unused pool to let its buffers go", () => {
      const use = pool.use;
      if (use.buffers === 0 && use.bytes === 0) return true;
      throw new Error(`still keeping ${use.buffers} buffers, ${use.bytes} bytes`);
    });
    // and it keeps them again once large batches come back
    pool.give(new ArrayBuffer(2 * MiB));
    expect(pool.take()?.byteLength).toBe(2 * MiB);
  });

  test("what the pool does not keep, or stops keeping, is freed at once rather than left to a full collection", async () => {
    const pool = new OutputBufferPool(2, 4 * MiB, MiB, 4 * MiB, 20);
    const small = new ArrayBuffer(MiB - 1);
    const grown = new ArrayBuffer(4 * MiB + 1);
    const [first, second, third] = [new ArrayBuffer(2 * MiB), new ArrayBuffer(MiB), new ArrayBuffer(2 * MiB)];
    for (const b of [small, grown, first, second, third]) pool.give(b);
    const detached = (buffers: ArrayBuffer[]) => buffers.map((b) => `${b.detached ? "freed" : "held"} ${b.byteLength}`);
    // too small, too large and over the byte budget: freed; the two that fit are kept whole
    expect(detached([small, grown, first, second, third])).toEqual([
      "freed 0",
      "freed 0",
      `held ${2 * MiB}`,
      `held ${MiB}`,
      "freed 0",
    ]);
    // a buffer taken is the caller's: letting the rest go leaves it alone
    const taken = pool.take();
    expect(taken?.buffer).toBe(second);
    await waitFor("the unused pool to let its buffers go", () => {
      if (pool.use.buffers === 0) return true;
      throw new Error(`still keeping ${pool.use.buffers} buffers`);
    });
    expect(detached([first, second])).toEqual(["freed 0", `held ${MiB}`]);
  });
});
