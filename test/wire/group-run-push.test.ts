import { describe, expect, test } from "bun:test";
import { CborWriter } from "../../src/util/cbor-writer.ts";
import type { HeaderPairs } from "../../src/util/message-headers.ts";
import { createPrng, type Prng } from "../../src/util/prng.ts";
import { encodeValue } from "../../src/wire/cbor.ts";
import { encodeFrame } from "../../src/wire/frame-encoder.ts";
import { GroupRunPush } from "../../src/wire/group-run-push.ts";
import { encodeHot } from "../../src/wire/hot-encoders.ts";
import type { GroupRun, GroupRunItem } from "../../src/wire/index.ts";

/** Whole numbers around every width CBOR has for them, and past 2^32 (where they are written as doubles). */
const WHOLES = [0, 1, 23, 24, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 1_765_000_000_000, 2 ** 53 - 1];
const SIZES = [0, 1, 23, 24, 128, 255, 256, 1000, 65_535, 65_536, 70_000];
const TOPICS = ["t", "jobs", "orders.eu.created", "温度.センサー", "x".repeat(255)];

function headersOf(prng: Prng): HeaderPairs {
  const pairs: HeaderPairs = [];
  const n = prng.int(0, 4);
  for (let i = 0; i < n; i++)
    pairs.push([prng.pick(["k", "content-type", "a".repeat(30)]), prng.pick(["", "v", "温度", "v".repeat(300)])]);
  return pairs;
}

/** A random run: the push, and the same message as the plain object the table-driven encoder takes. */
function randomRun(prng: Prng): { push: GroupRunPush; plain: GroupRun } {
  const [subscription, offset, attempt] = [prng.pick(WHOLES), prng.pick(WHOLES), prng.pick(WHOLES)];
  const topic = prng.pick(TOPICS);
  const push = new GroupRunPush(subscription, topic, offset, attempt);
  const messages: GroupRunItem[] = [];
  const count = prng.pick([1, 2, 23, 24, 256, prng.int(1, 300)]);
  // runs with headers on none, on some, on the first or the last only
  const headed = prng.pick(["none", "some", "first", "last"]);
  for (let i = 0; i < count; i++) {
    const data = new Uint8Array(prng.chance(0.05) ? prng.pick(SIZES) : prng.int(0, 200)).fill(i & 0xff);
    const time = prng.chance(0.5) ? prng.pick(WHOLES) : 1_765_000_000_000 + i;
    const withHeaders =
      (headed === "some" && prng.chance(0.3)) ||
      (headed === "first" && i === 0) ||
      (headed === "last" && i === count - 1);
    const headers = withHeaders ? headersOf(prng) : undefined;
    push.add(data, time, headers);
    messages.push(headers === undefined ? { data, time } : { data, time, headers });
  }
  return { push, plain: { type: "group-run", subscription, topic, offset, attempt, messages } };
}

/** Where two encodings first differ, and each from a little before there. */
function hexFrom(got: Uint8Array, expected: Uint8Array): string {
  let at = 0;
  while (at < got.length && got[at] === expected[at]) at++;
  const from = Math.max(0, at - 16);
  const hex = (b: Uint8Array) => Buffer.from(b.subarray(from, at + 48)).toString("hex");
  return `from byte ${from} (of ${got.length} and ${expected.length}), the push wrote ${hex(got)}, the table's encoder ${hex(expected)}`;
}

function hotBytes(value: unknown): Uint8Array {
  const w = new CborWriter(8);
  expect(encodeHot(w, value)).toBe(true);
  return w.buffer.slice(0, w.at);
}

describe("a leader's group-run push, written by hand", () => {
  test("writes exactly the bytes the table-driven encoder and cbor-x write for the same message (500 random runs)", () => {
    const prng = createPrng(16);
    for (let round = 0; round < 500; round++) {
      const { push, plain } = randomRun(prng);
      const expected = hotBytes(plain);
      const got = hotBytes(push);
      if (!Buffer.from(got).equals(Buffer.from(expected)))
        throw new Error(
          `round ${round}: ${plain.messages.length} messages, topic ${plain.topic}: the push wrote ` +
            `${hexFrom(got, expected)}`,
        );
      // the table-driven encoder writes what cbor-x writes for the parsed message: the one definition of the bytes
      if (round % 10 === 0) expect(got).toEqual(new Uint8Array(encodeValue(plain)));
      expect(push.length).toBe(plain.messages.length);
      expect(push.messages).toEqual(plain.messages);
    }
  });

  test("goes into a frame as itself: the frame of the push is the frame of the plain message", () => {
    const prng = createPrng(7);
    for (let round = 0; round < 50; round++) {
      const { push, plain } = randomRun(prng);
      expect(encodeFrame(push)).toEqual(encodeFrame(plain));
    }
  });
});
