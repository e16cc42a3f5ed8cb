import { describe, expect, test } from "bun:test";
import { CborWriter } from "../../src/util/cbor-writer.ts";
import { isMqraftError } from "../../src/util/errors.ts";
import { createPrng, type Prng } from "../../src/util/prng.ts";
import { decodeValue, encodeValue } from "../../src/wire/cbor.ts";
import { GroupRunPush } from "../../src/wire/group-run-push.ts";
import { readHot } from "../../src/wire/hot-decoders.ts";
import { encodeHot } from "../../src/wire/hot-encoders.ts";
import { createMessageParser } from "../../src/wire/messages/parse.ts";
import { ClientInboundSchema } from "../../src/wire/messages/unions.ts";

/** The `group-run` reader of hot-decoders.ts, against the generic path (cbor-x, then the schema). */

const parse = createMessageParser(ClientInboundSchema);
const generic = (bytes: Uint8Array): unknown => {
  const result = parse(decodeValue(bytes));
  return isMqraftError(result) ? "refused" : result;
};

const TIMES = [0, 23, 65_536, 2 ** 32, 1_765_000_000_123, 2 ** 53 - 1];

/** A valid run as a broker sends it: each message's data, its time and headers when it has them. */
function run(prng: Prng, length = Math.floor(prng.next() * 40)): Record<string, unknown> {
  const int = (n: number) => Math.floor(prng.next() * n);
  return {
    type: "group-run",
    subscription: int(1000),
    topic: ["jobs", "温度.a", "x".repeat(200)][int(3)],
    offset: TIMES[int(TIMES.length)],
    attempt: 1 + int(5),
    messages: Array.from({ length }, () => {
      const m: Record<string, unknown> = { data: Uint8Array.from({ length: int(300) }, () => int(256)) };
      if (prng.next() < 0.8) m.time = TIMES[int(TIMES.length)];
      if (prng.next() < 0.2)
        m.headers = [
          ["k", "v"],
          ["trace", "温"],
        ].slice(0, 1 + int(2));
      return m;
    }),
  };
}

/** As the broker's hot encoder writes it. */
function written(value: unknown): Uint8Array {
  const w = new CborWriter();
  expect(encodeHot(w, value)).toBe(true);
  return w.buffer.slice(0, w.at);
}

/** The leader's own form of the run (its messages all have a time, as a leader's have), if it has one. */
function leaderPush(value: Record<string, unknown>): GroupRunPush | undefined {
  const messages = value.messages as { data: Uint8Array<ArrayBuffer>; time?: number; headers?: [string, string][] }[];
  if (messages.some((m) => m.time === undefined)) return undefined;
  const push = new GroupRunPush(
    value.subscription as number,
    value.topic as string,
    value.offset as number,
    value.attempt as number,
  );
  for (const m of messages) push.add(m.data, m.time as number, m.headers);
  return push;
}

describe("the group-run reader", () => {
  test("seeded: runs as cbor-x, the hot encoder and the leader's run push write them read as the generic path reads them", () => {
    const prng = createPrng(16);
    for (let round = 0; round < 600; round++) {
      const value = run(prng);
      const frames = [encodeValue(value), written(value)];
      const pushed = leaderPush(value);
      if (pushed !== undefined) frames.push(written(pushed));
      for (const bytes of frames) {
        const hot = readHot(bytes);
        expect(hot).toEqual(value as never);
        expect(parse.hot?.(hot as { type: string })).toEqual(generic(bytes) as never);
      }
    }
  });

  test("seeded: damaged runs are either read exactly as the generic path reads them, or left to it", () => {
    const prng = createPrng(61);
    let read = 0;
    let refused = 0;
    for (let round = 0; round < 6_000; round++) {
      const bytes = encodeValue(run(prng, 1 + Math.floor(prng.next() * 4)));
      const flips = 1 + Math.floor(prng.next() * 3);
      // mostly in the head and the first messages' keys and numbers, where a flip changes what is read
      const span = Math.min(bytes.length, 120);
      for (let f = 0; f < flips; f++) bytes[Math.floor(prng.next() * span)] = Math.floor(prng.next() * 256);
      const cut = prng.next() < 0.2 ? bytes.subarray(0, Math.floor(prng.next() * bytes.length)) : bytes;
      const hot = readHot(cut);
      let expected: unknown = "refused";
      try {
        expected = generic(cut);
      } catch {}
      if (hot === undefined) {
        if (expected === "refused") refused++;
        continue;
      }
      read++;
      expect(hot).toEqual(expected as never);
    }
    // both sides of the check were exercised
    expect(read).toBeGreaterThan(300);
    expect(refused).toBeGreaterThan(300);
  });

  test("each message's data is its own copy: the frame's bytes reused change none, and one kept keeps no other alive", () => {
    const value = run(createPrng(3), 20);
    const bytes = encodeValue(value);
    const hot = readHot(bytes) as unknown as { messages: { data: Uint8Array }[] };
    bytes.fill(0);
    expect(hot).toEqual(value as never);
    const m = hot.messages;
    expect(new Set(m.map((x) => x.data.buffer)).size).toBe(m.length);
    for (const x of m) expect(x.data.buffer.byteLength).toBe(x.data.length);
  });

  test("read from a Buffer, the data are plain copies too, not views into it", () => {
    const value = run(createPrng(4), 5);
    const buffer = Buffer.from(encodeValue(value));
    const hot = readHot(buffer) as unknown as { messages: { data: Uint8Array }[] };
    buffer.fill(0);
    expect(hot).toEqual(value as never);
    for (const x of hot.messages) expect(x.data.constructor).toBe(Uint8Array);
  });
});
