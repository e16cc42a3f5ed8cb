import { describe, expect, test } from "bun:test";
import { createPrng } from "../../src/util/prng.ts";
import { FrameDecoder, NEED_MORE } from "../../src/wire/frame-decoder.ts";
import { OutgoingQueue } from "../../src/wire/outgoing-queue.ts";

/** A socket stand-in that takes at most `budget` bytes per write, copies what it takes, and counts writes. */
class PartialSink {
  received: number[] = [];
  writes = 0;
  budget = Infinity;
  closed = false;

  write(bytes: Uint8Array): number {
    if (this.closed) return -1;
    this.writes++;
    const n = Math.min(bytes.length, this.budget);
    for (let i = 0; i < n; i++) this.received.push(bytes[i]!);
    return n;
  }

  values(): unknown[] {
    const decoder = new FrameDecoder();
    decoder.push(new Uint8Array(this.received));
    const values: unknown[] = [];
    for (let value = decoder.next(); value !== NEED_MORE; value = decoder.next()) values.push(value);
    return values;
  }
}

describe("OutgoingQueue", () => {
  test("everything appended goes out in one write", () => {
    const sink = new PartialSink();
    const queue = new OutgoingQueue(sink, 1024);
    for (let i = 0; i < 100; i++) queue.append({ i });
    expect(queue.flush()).toBe(true);
    expect(sink.writes).toBe(1);
    expect(queue.queuedBytes).toBe(0);
    expect(sink.values()).toEqual(Array.from({ length: 100 }, (_, i) => ({ i })));
  });

  test("bytes a partial write left behind go out first, after drain, and flush waits for drain", () => {
    const sink = new PartialSink();
    const queue = new OutgoingQueue(sink, 1024);
    queue.append({ n: 1, pad: "x".repeat(40) });
    sink.budget = 10;
    queue.flush();
    expect(queue.blocked).toBe(true);
    const left = queue.queuedBytes;
    expect(left).toBeGreaterThan(0);

    queue.append({ n: 2 });
    const writes = sink.writes;
    queue.flush();
    expect(sink.writes).toBe(writes);

    sink.budget = Infinity;
    queue.drain();
    expect(queue.blocked).toBe(false);
    expect(queue.queuedBytes).toBe(0);
    expect(sink.values()).toEqual([{ n: 1, pad: "x".repeat(40) }, { n: 2 }]);
  });

  test("every byte arrives in order under random partial writes (seeded)", () => {
    const prng = createPrng(11);
    const sink = new PartialSink();
    const queue = new OutgoingQueue(sink, 1 << 20);
    const sent: unknown[] = [];
    for (let round = 0; round < 2_000; round++) {
      const count = Math.floor(prng.next() * 5);
      for (let i = 0; i < count; i++) {
        const value = { seq: sent.length, data: new Uint8Array(Math.floor(prng.next() * 300)).fill(sent.length & 255) };
        sent.push(value);
        queue.append(value);
      }
      sink.budget = Math.floor(prng.next() * 400);
      if (prng.next() < 0.5) queue.flush();
      else queue.drain();
    }
    sink.budget = Infinity;
    queue.drain();
    expect(queue.queuedBytes).toBe(0);
    expect(sink.values()).toEqual(sent);
  });

  test("megabytes queued in one turn go out in chunks, in order, with buffers used again (seeded)", () => {
    const prng = createPrng(12);
    // a sink that keeps what it takes in one growing buffer (PartialSink keeps numbers, too slow for megabytes)
    let received = new Uint8Array(1 << 20);
    let length = 0;
    let budget = Infinity;
    const sink = {
      write(bytes: Uint8Array): number {
        const n = Math.min(bytes.length, budget);
        if (length + n > received.length) {
          const grown = new Uint8Array(Math.max(length + n, received.length * 2));
          grown.set(received.subarray(0, length));
          received = grown;
        }
        received.set(bytes.subarray(0, n), length);
        length += n;
        return n;
      },
    };
    const queue = new OutgoingQueue(sink, 8 << 20);
    const sizes: number[] = [];
    for (let round = 0; round < 60; round++) {
      const count = 1 + Math.floor(prng.next() * 6);
      for (let i = 0; i < count; i++) {
        const size = Math.floor(prng.next() * 700_000);
        queue.append({ seq: sizes.length, data: new Uint8Array(size).fill(sizes.length & 255) });
        sizes.push(size);
      }
      budget = prng.next() < 0.3 ? Math.floor(prng.next() * 3_000_000) : Infinity;
      if (prng.next() < 0.5) queue.flush();
      else queue.drain();
    }
    budget = Infinity;
    queue.drain();
    expect(queue.queuedBytes).toBe(0);
    const decoder = new FrameDecoder(8 << 20);
    decoder.push(received.subarray(0, length));
    let seq = 0;
    for (let value = decoder.next(); value !== NEED_MORE; value = decoder.next(), seq++) {
      const m = value as { seq: number; data: Uint8Array };
      expect(m.seq).toBe(seq);
      expect(m.data.length).toBe(sizes[seq] as number);
      if (m.data.length > 0) expect([m.data[0], m.data.at(-1)]).toEqual([seq & 255, seq & 255]);
    }
    expect(seq).toBe(sizes.length);
  });

  test("connections that sent large batches and fell silent keep at most 16 MiB of large buffers alive in all", async () => {
    const MiB = 1 << 20;
    // every large buffer a socket was handed, watched without keeping it alive
    const handed: WeakRef<ArrayBuffer>[] = [];
    const seen = new WeakSet<ArrayBuffer>();
    const sink = {
      write(bytes: Uint8Array): number {
        const buffer = bytes.buffer as ArrayBuffer;
        if (buffer.byteLength >= MiB && !seen.has(buffer)) {
          seen.add(buffer);
          handed.push(new WeakRef(buffer));
        }
        return bytes.length;
      },
    };
    // twelve connections (a leader's followers and subscribers), each a run of batches of 1.5 MiB, then nothing more
    const queues = Array.from({ length: 12 }, () => new OutgoingQueue(sink, 8 << 20));
    const payload = new Uint8Array(300_000).fill(7);
    for (let round = 0; round < 6; round++) {
      for (const queue of queues) {
        for (let i = 0; i < 5; i++) queue.append({ round, i, payload });
        expect(queue.flush()).toBe(true);
      }
    }
    expect(queues.every((q) => q.queuedBytes === 0)).toBe(true);
    // a WeakRef made in this job keeps its target alive until the job ends
    await new Promise((resolve) => setImmediate(resolve));
    Bun.gc(true);
    const alive = handed.map((r) => r.deref()).filter((b) => b !== undefined);
    const aliveBytes = alive.reduce((sum, b) => sum + b.byteLength, 0);
    expect(handed.length).toBeGreaterThan(12);
    if (aliveBytes > 16 * MiB) {
      throw new Error(
        `expected at most 16 MiB of large output buffers alive, found ${alive.length} (${(aliveBytes / MiB).toFixed(1)} MiB) of ${handed.length} handed out`,
      );
    }
    expect(queues.length).toBe(12); // the queues stay reachable until here
  });

  test("a closed socket is reported", () => {
    const sink = new PartialSink();
    const queue = new OutgoingQueue(sink, 1024);
    queue.append("x");
    sink.closed = true;
    expect(queue.flush()).toBe(false);
  });

  test("clear() drops the queue, held-back bytes included", () => {
    const sink = new PartialSink();
    const queue = new OutgoingQueue(sink, 1024);
    queue.append("a".repeat(100));
    sink.budget = 3;
    queue.flush();
    queue.append("b");
    queue.clear();
    expect(queue.queuedBytes).toBe(0);
    expect(queue.blocked).toBe(false);
  });
});
