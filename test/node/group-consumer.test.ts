import { describe, expect, test } from "bun:test";
import { encodeCommand } from "../../src/broker/command-codec.ts";
import type { Command, PublishMessage } from "../../src/broker/commands.ts";
import type { GroupSettings } from "../../src/broker/groups/group-commands.ts";
import { BrokerState } from "../../src/broker/state-machine.ts";
import { EntryMessagesCache } from "../../src/node/entry-messages-cache.ts";
import {
  BATCH_BYTES,
  type EntryMessages,
  GroupConsumer,
  type GroupSink,
  itemBytes,
  runHeadBytes,
  runItemBytes,
} from "../../src/node/group-consumer.ts";
import { encodeValue, type GroupMessageItem, type GroupRunItem, type Message } from "../../src/wire/index.ts";
import { applyNext, msg, publish, T0 } from "../broker/helpers.ts";

const utf8 = new TextEncoder();

const SETTINGS: GroupSettings = {
  ackWaitMs: 30_000,
  maxDeliver: 5,
  deadLetter: "jobs.dlq",
  maxPending: 1000,
  from: "earliest",
};

/** A state with group `g` on `jobs` and member `m` joined; its publish entries' messages kept for the pushes. */
function setup(): { state: BrokerState; read: EntryMessages } {
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
    if (m.type === "group-run") return [`${m.type} ${m.attempt}`, m.messages.map((_, i) => m.offset + i)];
    throw new Error(`unexpected push ${m.type}`);
  });
}

/** Messages of a third of BATCH_BYTES (three), one larger than BATCH_BYTES, one small. */
function publishAroundBatchBytes(state: BrokerState): void {
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
}

/**
 * Offsets 0 to 4 over two entries, 3 past its TTL before the broker pushed it (pump), then 1 naked and 5, 6 published
 * (pump again): runs with a gap, then a redelivery and new messages.
 */
function expireOneAndNakAnother(state: BrokerState, read: EntryMessages, consumer: GroupConsumer): void {
  publish(state, T0, msg("jobs", "a"), msg("jobs", "b"));
  publish(state, T0, msg("jobs", "c"), { ...msg("jobs", "d"), ttl: 1 }, msg("jobs", "e"));
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
  publish(state, T0 + 5, msg("jobs", "f"), msg("jobs", "g"));
  consumer.pump(state, read);
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
    publishAroundBatchBytes(state);
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
    expireOneAndNakAnother(state, read, consumer);
    const items = out.sent.flatMap((m) => (m.type === "group-messages" ? m.messages : []));
    expect(items.map((i) => [i.offset, i.attempt])).toEqual([
      [0, 1],
      [1, 1],
      [2, 1],
      [4, 1],
      [1, 2],
      [5, 1],
      [6, 1],
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

describe("GroupConsumer payloads", () => {
  /** One message of each form an entry stores headers in (with and without producer fields), and plain ones. */
  const MESSAGES: PublishMessage[] = [
    msg("jobs", "plain"),
    { topic: "jobs", data: utf8.encode("headed"), headers: [["k", "v"]] },
    { topic: "jobs", data: utf8.encode("from p"), producer: "p", seq: 1, headers: [["a", "温度"]], ttl: 60_000 },
    { topic: "jobs", data: utf8.encode("from p too"), producer: "p", seq: 2 },
  ];

  /** What each push carried, as [offset, attempt, text, time, headers], whatever its kind. */
  function carried(sent: Message[]): unknown[] {
    const row = (offset: number, attempt: number, m: { data: Uint8Array; time?: number; headers?: unknown }) => [
      offset,
      attempt,
      new TextDecoder().decode(m.data),
      m.time,
      m.headers,
    ];
    return sent.flatMap((m) => {
      if (m.type === "group-message") return [row(m.offset, m.attempt, m)];
      if (m.type === "group-messages") return m.messages.map((i) => row(i.offset, i.attempt, i));
      if (m.type === "group-run") return m.messages.map((i, n) => row(m.offset + n, m.attempt, i));
      throw new Error(`unexpected push ${m.type}`);
    });
  }

  test.each([
    ["one at a time", false, false],
    ["in batches", true, false],
    ["in runs", true, true],
  ])("each message goes %s with its payload, time and headers", (_, batched, runs) => {
    const { state, read } = setup();
    publish(state, T0, ...MESSAGES.slice(0, 2));
    publish(state, T0 + 1, ...MESSAGES.slice(2));
    const out = sink();
    new GroupConsumer(1, "g", "m", out, batched, runs).pump(state, read);
    expect(carried(out.sent)).toEqual([
      [0, 1, "plain", T0, undefined],
      [1, 1, "headed", T0, [["k", "v"]]],
      [2, 1, "from p", T0 + 1, [["a", "温度"]]],
      [3, 1, "from p too", T0 + 1, undefined],
    ]);
  });
});

describe("GroupConsumer behind a trimmed list of assignments", () => {
  test("pushes what the member still holds from where it last looked, the delivery at that very place included", () => {
    const state = new BrokerState();
    // the log, for the entries the cache of decoded ones no longer holds
    const log = new Map<number, Uint8Array>();
    const cache = new EntryMessagesCache((index) => log.get(index));
    state.onPublishEntry = (index, messages) => cache.applied(index, messages);
    const append = (command: Command) => {
      const index = state.appliedIndex + 1;
      log.set(index, encodeCommand(command));
      state.apply(index, log.get(index) as Uint8Array);
    };
    const publishOne = (offset: number) =>
      append({ type: "publish", time: T0, messages: [msg("jobs", `job ${offset}`)] });
    const ack = (offset: number) =>
      append({ type: "group-ack", time: T0, group: "g", member: "m", kind: "ack", offsets: [offset], attempts: [1] });
    const settings = { ...SETTINGS, maxPending: 4 };
    append({ type: "group-join", time: T0, group: "g", topic: "jobs", member: "m", settings });
    const out = sink();
    const consumer = new GroupConsumer(1, "g", "m", out, true);
    for (let offset = 0; offset < 4; offset++) publishOne(offset);
    consumer.pump(state, (index) => cache.messages(index));
    for (let offset = 0; offset < 4; offset++) ack(offset);
    // offset 4 is handed out at the place the consumer looks from next; it stays held while the member goes through
    // enough others, without the consumer looking, that the front of its assignments is trimmed past that place
    for (let offset = 4; offset < 202; offset++) {
      publishOne(offset);
      if (offset > 4 && offset < 200) ack(offset);
    }
    expect(state.groups.get("g")?.members.get("m")?.assignedBase).toBeGreaterThan(4);
    out.sent.length = 0;
    consumer.pump(state, (index) => cache.messages(index));
    expect(pushes(out.sent)).toEqual([["group-messages", [4, 200, 201]]]);
  });
});

describe("GroupConsumer after retention", () => {
  for (const runs of [false, true])
    test(`a run whose first messages retention removed pushes the rest of it and nothing past it${runs ? " (runs)" : ""}`, () => {
      const state = new BrokerState();
      const cache = new EntryMessagesCache(() => undefined);
      state.onPublishEntry = (index, messages) => cache.applied(index, messages);
      const join = (member: string) =>
        applyNext(state, {
          type: "group-join",
          time: T0,
          group: "g",
          topic: "jobs",
          member,
          settings: { ...SETTINGS, maxPending: 5 },
        });
      join("m");
      join("n");
      // m holds 0 to 4 (one at a time, in turn with n: 0, 2, 4, 6, 8), n the others
      publish(state, T0, ...Array.from({ length: 10 }, (_, i) => msg("jobs", `job ${i}`)));
      applyNext(state, { type: "purge", time: T0 + 1, topic: "jobs", keep: 7 });
      const out = sink();
      new GroupConsumer(1, "g", "m", out, true, runs).pump(state, (index) => cache.messages(index));
      const offsets = pushes(out.sent).flatMap(([, o]) => o);
      const held = state.groups.get("g")?.heldBy(state.groups.get("g")?.members.get("m")) ?? [];
      expect(offsets).toEqual(held.filter((o) => o >= 3));
      for (const m of out.sent) {
        const attempt = m.type === "group-messages" ? m.messages[0]?.attempt : (m as { attempt?: number }).attempt;
        expect(attempt).toBe(1);
      }
    });
});

describe("GroupConsumer runs", () => {
  test("a member that asked for runs gets consecutive messages as one group-run: topic, offset and attempt once", () => {
    const { state, read } = setup();
    publish(state, T0, ...Array.from({ length: 5 }, (_, i) => msg("jobs", `job ${i}`)));
    const out = sink();
    new GroupConsumer(1, "g", "m", out, true, true).pump(state, read);
    expect(pushes(out.sent)).toEqual([["group-run 1", [0, 1, 2, 3, 4]]]);
    const run = out.sent[0] as Extract<Message, { type: "group-run" }>;
    expect(run).toMatchObject({ subscription: 1, topic: "jobs", offset: 0, attempt: 1 });
    expect(run.messages.map((m) => new TextDecoder().decode(m.data))).toEqual([
      "job 0",
      "job 1",
      "job 2",
      "job 3",
      "job 4",
    ]);
    expect(run.messages[4]?.time).toBe(T0);
  });

  test("a run ends where the offsets or the attempt change: a gap past its TTL, a redelivery", () => {
    const { state, read } = setup();
    const out = sink();
    const consumer = new GroupConsumer(1, "g", "m", out, true, true);
    expireOneAndNakAnother(state, read, consumer);
    expect(pushes(out.sent)).toEqual([
      ["group-run 1", [0, 1, 2]],
      ["group-run 1", [4]],
      ["group-run 2", [1]],
      ["group-run 1", [5, 6]],
    ]);
  });

  test("a run carries at most BATCH_BYTES; a message larger than that goes alone as a group-message, in order", () => {
    const { state, read } = setup();
    publishAroundBatchBytes(state);
    const out = sink();
    new GroupConsumer(1, "g", "m", out, true, true).pump(state, read);
    expect(pushes(out.sent)).toEqual([
      ["group-run 1", [0, 1]],
      ["group-run 1", [2]],
      ["group-message", [3]],
      ["group-run 1", [4]],
    ]);
  });

  test("the bytes counted for a run are never fewer than its encoding takes", () => {
    const items: GroupRunItem[] = [
      { data: new Uint8Array(0) },
      { data: new Uint8Array(0), time: 2 ** 53 - 1 },
      { data: new Uint8Array(70_000), time: T0 },
      {
        data: new Uint8Array(1),
        headers: [
          ["k", "温度"],
          ["content-type", "x"],
        ],
      },
    ];
    for (const topic of ["t", "温".repeat(85)]) {
      const head = { type: "group-run", subscription: 2 ** 53 - 1, topic, offset: 2 ** 53 - 1, attempt: 2 ** 53 - 1 };
      const empty = encodeValue({ ...head, messages: [] }).length;
      expect(empty).toBeLessThanOrEqual(runHeadBytes(topic));
      for (const item of items)
        expect(encodeValue({ ...head, messages: [item] }).length - empty).toBeLessThanOrEqual(runItemBytes(item));
    }
  });
});
