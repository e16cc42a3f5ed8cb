import { describe, expect, test } from "bun:test";
import {
  decodeEntryWireMessages,
  encodeCommand,
  type WireMessage,
  wireHeaders,
} from "../../src/broker/command-codec.ts";
import type { PublishMessage } from "../../src/broker/commands.ts";
import { BrokerState } from "../../src/broker/state-machine.ts";
import { EntryMessagesCache } from "../../src/node/entry-messages-cache.ts";
import { T0 } from "../broker/helpers.ts";

const utf8 = new TextEncoder();

/** Every shape a publish message takes in an entry: plain, with headers, a TTL, a producer and seq, a fence. */
const MESSAGES: PublishMessage[] = [
  { topic: "jobs", data: utf8.encode("plain") },
  { topic: "jobs", data: utf8.encode("with headers"), headers: [["k", "v"]] },
  { topic: "jobs", data: utf8.encode("with a ttl"), ttl: 60_000 },
  { topic: "jobs", data: utf8.encode("from a producer"), producer: "p", seq: 1 },
  { topic: "jobs", data: utf8.encode("all of it"), producer: "p", seq: 2, epoch: 1, headers: [["a", "b"]], ttl: 5 },
  { topic: "温度.センサー", data: new Uint8Array([0, 255, 7]) },
];

/** What a push reads of a kept message: its topic, payload and headers. */
function pushed(messages: readonly (WireMessage | undefined)[]): unknown[] {
  return messages.map((m) => (m === undefined ? undefined : { topic: m[0], data: m[1], headers: wireHeaders(m) }));
}

const EXPECTED = MESSAGES.map((m) => ({ topic: m.topic, data: m.data, headers: m.headers }));

describe("the decoded messages a leader keeps for its group pushes", () => {
  test("an applied entry's messages, as the apply decoded them, are those a read of the entry decodes", () => {
    const state = new BrokerState();
    const entry = encodeCommand({ type: "publish", time: T0, messages: MESSAGES });
    const reads: number[] = [];
    const cache = new EntryMessagesCache((index) => {
      reads.push(index);
      return entry;
    });
    const heard: number[] = [];
    state.onPublishEntry = (index, messages) => {
      heard.push(index);
      cache.applied(index, messages);
    };
    state.apply(1, entry);
    expect(heard).toEqual([1]);
    expect(pushed(cache.messages(1))).toEqual(EXPECTED);
    expect(cache.messages(1)).toEqual(decodeEntryWireMessages(entry));
    // taken from the apply: the entry was not read and decoded again
    expect(reads).toEqual([]);
    expect(pushed(cache.messages(2))).toEqual(EXPECTED);
    expect(reads).toEqual([2]);
  });

  test("a state machine without an observer, or a command that is no publish, hands nothing over", () => {
    const state = new BrokerState();
    state.apply(1, encodeCommand({ type: "publish", time: T0, messages: MESSAGES }));
    const heard: number[] = [];
    state.onPublishEntry = (index) => heard.push(index);
    state.apply(2, encodeCommand({ type: "tick", time: T0 + 1 }));
    state.apply(3, encodeCommand({ type: "publish", time: T0 + 2, messages: MESSAGES.slice(0, 1) }));
    expect(heard).toEqual([3]);
  });

  test("at most 16 entries and 8 MiB of their payloads are kept, the newest whatever its size", () => {
    const MiB = 1 << 20;
    const entryOf = (size: number) =>
      encodeCommand({ type: "publish", time: T0, messages: [{ topic: "big", data: new Uint8Array(size) }] });
    const large = entryOf(1.5 * MiB);
    const reads: number[] = [];
    const cache = new EntryMessagesCache((index) => {
      reads.push(index);
      return index === 100 ? entryOf(10 * MiB) : large;
    });
    for (let index = 1; index <= 20; index++) cache.messages(index);
    // five entries of 1.5 MiB fit in 8 MiB: 16 to 20 are still kept, 15 is read again
    reads.length = 0;
    for (let index = 20; index >= 15; index--) cache.messages(index);
    expect(reads).toEqual([15]);
    expect(cache.size).toEqual({ entries: 5, bytes: 7.5 * MiB });
    // one message over the budget: kept alone, as the newest
    cache.messages(100);
    expect(cache.size).toEqual({ entries: 1, bytes: 10 * MiB });
    reads.length = 0;
    cache.messages(100);
    expect(reads).toEqual([]);
  });
});
