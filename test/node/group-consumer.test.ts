import { describe, expect, test } from "bun:test";
import type { PublishMessage } from "../../src/broker/commands.ts";
import type { GroupSettings } from "../../src/broker/groups/group-commands.ts";
import { BrokerState } from "../../src/broker/state-machine.ts";
import { EntryMessagesCache } from "../../src/node/entry-messages-cache.ts";
import { BATCH_BYTES, GroupConsumer, type GroupSink, itemBytes } from "../../src/node/group-consumer.ts";
import { encodeValue, type GroupMessageItem, type Message } from "../../src/wire/index.ts";
import { applyNext, msg, publish, T0 } from "../broker/helpers.ts";

const SETTINGS: GroupSettings = {
  ackWaitMs: 30_000,
  maxDeliver: 5,
  deadLetter: "jobs.dlq",
  maxPending: 1000,
  from: "earliest",
};

/** A state with group `g` on `jobs` and member `m` joined; its publish entries' messages kept for the pushes. */
function setup(): { state: BrokerState; read: (index: number) => readonly (PublishMessage | undefined)[] } {
  const state = new BrokerState();
  // as GroupService keeps them: from each publish entry's apply (nothing is read back from a log here)
  const cache = new EntryMessagesCache(() => undefined);
  state.onPublishEntry = (index, messages) => cache.applied(index, messages);
  applyNext(state, { type: "group-join", time: T0, group: "g", topic: "jobs", member: "m", settings: SETTINGS });
  return { state, read: (index) => cache.messages(index) };
}

function sink(): GroupSink & { sent: Message[] } {
  const sent: Message[] = [];
  return {
    sent,
    send: (message) => sent.push(message) > 0,
    isOpen: true,
  };
}

/** The offsets each push carried, as [type, offsets]. */
function pushes(sent: Message[]): [string, number[]][] {
  return sent.map((m) => {
    if (m.type === "group-message") return [m.type, [m.offset]];
    if (m.type === "group-messages") return [m.type, m.messages.map((item) => item.offset)];
    throw new Error(`unexpected push ${m.type}`);
  });
}

describe("GroupConsumer pushes", () => {
  test("a member that asked for batches gets what it was given at once in one group-messages push, in order", () => {
    const { state, read } = setup();
    publish(state, T0, ...Array.from({ length: 5 }, (_, i) => msg("jobs", `job ${i}`)));
    const out = sink();
    new GroupConsumer(1, "g", "m", out, true).pump(state, read);
    expect(pushes(out.sent)).toEqual([["group-messages", [0, 1, 2, 3, 4]]]);
    const first = out.sent[0] as Extract<Message, { type: "group-messages" }>;
    expect(first.subscription).toBe(1);
    expect(new TextDecoder().decode(first.messages[3]?.data)).toBe("job 3");
    expect(first.messages[0]).toMatchObject({ topic: "jobs", attempt: 1, time: T0 });
  });

  test("a member that did not ask gets one group-message per message, as before batches", () => {
    const { state, read } = setup();
    publish(state, T0, ...Array.from({ length: 3 }, (_, i) => msg("jobs", `job ${i}`)));
    const out = sink();
    new GroupConsumer(1, "g", "m", out).pump(state, read);
    expect(pushes(out.sent)).toEqual([
      ["group-message", [0]],
      ["group-message", [1]],
      ["group-message", [2]],
    ]);
  });

  test("a push carries at most BATCH_BYTES; a message larger than that goes alone, between batches, in order", () => {
    const { state, read } = setup();
    const data = (n: number) => new Uint8Array(n);
    const third = Math.floor(BATCH_BYTES / 3);
    publish(
      state,
      T0,
      { topic: "jobs", data: data(third) },
      { topic: "jobs", data: data(third) },
      { topic: "jobs", data: data(third) },
      { topic: "jobs", data: data(BATCH_BYTES + 1) },
      { topic: "jobs", data: data(10) },
    );
    const out = sink();
    new GroupConsumer(1, "g", "m", out, true).pump(state, read);
    expect(pushes(out.sent)).toEqual([
      ["group-messages", [0, 1]],
      ["group-messages", [2]],
      ["group-message", [3]],
      ["group-messages", [4]],
    ]);
  });

  test("runs of offsets, across entries, go in order with each delivery's attempt; one past its TTL is left out", () => {
    const { state, read } = setup();
    const out = sink();
    const consumer = new GroupConsumer(1, "g", "m", out, true);
    publish(state, T0, msg("jobs", "a"), msg("jobs", "b"));
    publish(state, T0, msg("jobs", "c"), { ...msg("jobs", "d"), ttl: 1 }, msg("jobs", "e"));
    // 3 was handed out at T0 and its TTL ran out before the broker pushed it
    applyNext(state, { type: "group-tick", time: T0 + 2 });
    consumer.pump(state, read);
    applyNext(state, {
      type: "group-ack",
      time: T0 + 5,
      group: "g",
      member: "m",
      kind: "nak",
      offsets: [1],
      attempts: [1],
    });
    publish(state, T0 + 5, msg("jobs", "f"));
    consumer.pump(state, read);
    const items = out.sent.flatMap((m) => (m.type === "group-messages" ? m.messages : []));
    expect(items.map((i) => [i.offset, i.attempt])).toEqual([
      [0, 1],
      [1, 1],
      [2, 1],
      [4, 1],
      [1, 2],
      [5, 1],
    ]);
  });

  test("the bytes counted for a message are never fewer than its encoding takes", () => {
    const items: GroupMessageItem[] = [
      { topic: "t", offset: 0, attempt: 1, data: new Uint8Array(0) },
      {
        topic: "t",
        offset: 2 ** 53 - 1,
        attempt: 2 ** 53 - 1,
        data: new Uint8Array(0),
        time: 2 ** 53 - 1,
        key: 2 ** 53 - 1,
      },
      { topic: "温".repeat(85), offset: 1, attempt: 1, data: new Uint8Array(70_000), time: T0 },
      {
        topic: "a.b",
        offset: 1,
        attempt: 1,
        data: new Uint8Array(1),
        headers: [
          ["k", "温度"],
          ["content-type", "x"],
        ],
      },
    ];
    for (const item of items) expect(encodeValue(item).length).toBeLessThanOrEqual(itemBytes(item));
  });
});
