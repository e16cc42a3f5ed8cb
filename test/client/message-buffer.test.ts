import { expect, test } from "bun:test";
import { MessageBuffer, type ReceivedMessage } from "../../src/client/message-buffer.ts";
import { MessageHeaders } from "../../src/util/message-headers.ts";

const message = (offset: number, size: number): ReceivedMessage => ({
  topic: "t",
  offset,
  data: new Uint8Array(size),
  time: undefined,
  headers: MessageHeaders.of(undefined),
});

test("shift and take hand out each message once, in order, and keep the count and bytes that full and low read", () => {
  const buffer = new MessageBuffer(100, 4000);
  const out: number[] = [];
  let next = 0;
  for (let round = 0; round < 300; round++) {
    for (let i = 0; i < 10; i++) buffer.push(message(next++, 40));
    if (round % 3 === 0)
      for (let i = 0; i < 7; i++) {
        const m = buffer.shift();
        if (m !== undefined) out.push(m.offset);
      }
    else for (const m of buffer.take(round % 3 === 1 ? 4 : 2000)) out.push(m.offset);
  }
  for (const m of buffer.take(Infinity)) out.push(m.offset);
  expect(out).toEqual(Array.from({ length: next }, (_, i) => i));
  expect({ count: buffer.count, full: buffer.full, low: buffer.low }).toEqual({ count: 0, full: false, low: true });
  for (let i = 0; i < 100; i++) buffer.push(message(i, 40));
  expect(buffer.full).toBe(true);
  expect(buffer.take(80).length).toBe(80);
  expect({ count: buffer.count, full: buffer.full, low: buffer.low }).toEqual({ count: 20, full: false, low: true });
});
