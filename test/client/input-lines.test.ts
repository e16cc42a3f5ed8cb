import { describe, expect, test } from "bun:test";
import { publishLines } from "../../cmd/publish-lines.ts";
import { byteLines } from "../../cmd/stdin-lines.ts";
import type { PublishResult } from "../../src/client/index.ts";
import { MqraftError } from "../../src/util/errors.ts";
import { waitFor } from "../support/wait.ts";

/** A known number of event-loop turns: every promise reaction queued before them has run. */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

const until = (what: string, done: () => boolean) =>
  waitFor(what, () => (done() ? true : undefined), { intervalMs: 1, timeoutMs: 5_000 });

async function* chunks(...parts: (string | number[])[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield typeof part === "string" ? new TextEncoder().encode(part) : new Uint8Array(part);
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<number[][]> {
  const out: number[][] = [];
  for await (const line of source) out.push([...line]);
  return out;
}

const text = (s: string): number[] => [...new TextEncoder().encode(s)];

describe("byteLines", () => {
  test("lines split across and inside chunks, a last line without newline, empty lines kept", async () => {
    expect(await collect(byteLines(chunks("ab", "c\nd", "\n\nef\ng", "h")))).toEqual([
      text("abc"),
      text("d"),
      [],
      text("ef"),
      text("gh"),
    ]);
  });

  test("bytes that are not UTF-8 pass unchanged; an empty stream has no lines", async () => {
    expect(await collect(byteLines(chunks([0xff, 0x00], [0x0a, 0xfe, 0x0a])))).toEqual([[0xff, 0x00], [0xfe]]);
    expect(await collect(byteLines(chunks()))).toEqual([]);
  });

  test("a line does not keep the stream's chunk alive or change when the chunk is reused", async () => {
    const shared = new Uint8Array([0x61, 0x62]);
    async function* reused(): AsyncGenerator<Uint8Array> {
      yield shared;
      shared.set([0x0a, 0x63]);
      yield shared;
    }
    expect(await collect(byteLines(reused()))).toEqual([text("ab"), text("c")]);
  });
});

/** Input lines the test feeds one at a time, as a person typing would. */
class TypedInput implements AsyncIterable<Uint8Array> {
  private readonly queue: (Uint8Array | null)[] = [];
  private wake: (() => void) | undefined;
  type(line: string | null): void {
    this.queue.push(line === null ? null : new TextEncoder().encode(line));
    this.wake?.();
  }
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    for (;;) {
      const next = this.queue.shift();
      if (next === null) return;
      if (next !== undefined) yield next;
      else await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}

describe("publishLines", () => {
  test("acks print in input order though they settle out of order", async () => {
    const settles: ((r: PublishResult) => void)[] = [];
    const printed: number[] = [];
    const done = publishLines(
      chunks("a", "b", "c"),
      () => new Promise<PublishResult>((resolve) => settles.push(resolve)),
      (r) => void printed.push(r.offset),
    );
    await until("three publishes", () => settles.length === 3);
    settles[2]!({ topic: "t", offset: 2 });
    settles[1]!({ topic: "t", offset: 1 });
    // a negative over known turns: the later acks have settled and still nothing prints before the first
    await turns(3);
    expect(printed).toEqual([]);
    settles[0]!({ topic: "t", offset: 0 });
    expect(await done).toBe(3);
    expect(printed).toEqual([0, 1, 2]);
  });

  test("each ack prints as soon as it arrives, before the input ends", async () => {
    const input = new TypedInput();
    const printed: number[] = [];
    let next = 0;
    const done = publishLines(
      input,
      async () => ({ topic: "t", offset: next++ }),
      (r) => void printed.push(r.offset),
    );
    input.type("first");
    await until("the first ack printed", () => printed.length === 1);
    input.type("second");
    await until("the second ack printed", () => printed.length === 2);
    input.type(null);
    expect(await done).toBe(2);
  });

  test("the first failure rejects at once, while the input is still open", async () => {
    const input = new TypedInput();
    const done = publishLines(
      input,
      () => Promise.reject(new MqraftError("NO_LEADER", "no leader")),
      () => {},
    );
    input.type("x");
    expect(await done.catch((e: unknown) => e)).toMatchObject({ code: "NO_LEADER" });
  });

  test("reads at most maxWaiting lines ahead of the acknowledgements", async () => {
    const settles: (() => void)[] = [];
    let most = 0;
    let waiting = 0;
    const done = publishLines(
      chunks(...Array.from({ length: 50 }, () => "x\n")),
      () => {
        waiting++;
        most = Math.max(most, waiting);
        return new Promise<PublishResult>((resolve) =>
          settles.push(() => {
            waiting--;
            resolve({ topic: "t", offset: 0 });
          }),
        );
      },
      () => {},
      10,
    );
    for (let i = 0; i < 50; i++) {
      await until(`publish ${i + 1}`, () => settles.length > 0);
      settles.shift()!();
    }
    expect(await done).toBe(50);
    expect(most).toBeLessThanOrEqual(10);
  });
});
