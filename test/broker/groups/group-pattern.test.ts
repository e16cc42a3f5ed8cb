import { describe, expect, test } from "bun:test";
import type { Command } from "../../../src/broker/commands.ts";
import type { GroupSettings } from "../../../src/broker/groups/group-commands.ts";
import { BrokerState } from "../../../src/broker/state-machine.ts";
import { applyNext, msg, publish, T0 } from "../helpers.ts";

const SETTINGS: GroupSettings = {
  ackWaitMs: 30_000,
  maxDeliver: 2,
  deadLetter: "orders.dlq",
  maxPending: 5,
  from: "earliest",
};

function join(state: BrokerState, member: string, pattern = "orders.>", time = T0): void {
  const [r] = applyNext(state, {
    type: "group-join",
    time,
    group: "g",
    topic: pattern,
    member,
    settings: SETTINGS,
  });
  expect(r).toMatchObject({ type: "group-join" });
}

/** What `member` holds, as "topic#offset" (the group's keys resolved). */
function holding(state: BrokerState, member: string): string[] {
  const g = state.groups.get("g");
  return (g?.heldBy(g.members.get(member)) ?? []).map((key) => {
    const at = g?.locate(key);
    return `${at?.topic}#${at?.offset}`;
  });
}

/** Settles all `member` holds; returns what it held. */
function settleAll(state: BrokerState, member: string, kind: "ack" | "nak", time = T0): string[] {
  const g = state.groups.get("g");
  const keys = g?.heldBy(g.members.get(member)) ?? [];
  const was = holding(state, member);
  const attempts = keys.map((k) => g?.outstanding.get(k)?.attempt ?? 0);
  const [r] = applyNext(state, { type: "group-ack", time, group: "g", member, kind, offsets: keys, attempts });
  expect(r).toMatchObject({ type: "group-ack", refused: [] });
  return was;
}

describe("a consumer group on a topic pattern", () => {
  test("reads every matching topic, also those created after it joined, and nothing else", () => {
    const state = new BrokerState();
    publish(state, T0, msg("orders.eu", "e0"), msg("payments.eu", "p0"), msg("orders.eu.late", "l0"));
    join(state, "a");
    publish(state, T0, msg("orders.us", "u0"), msg("orders.eu", "e1"), msg("orders", "not matched"));
    publish(state, T0, msg("orders.asia", "a0"), msg("other", "x"));
    const seen: string[] = [];
    for (let round = 0; round < 5 && holding(state, "a").length > 0; round++)
      seen.push(...settleAll(state, "a", "ack"));
    expect(seen.sort()).toEqual(["orders.asia#0", "orders.eu#0", "orders.eu#1", "orders.eu.late#0", "orders.us#0"]);
    expect(state.groups.get("g")).toMatchObject({ acked: 5, dropped: 0 });
    expect(state.groups.get("g")?.feed?.refs.size).toBe(0);
  });

  test("goes round the topics with messages waiting, so that a busy topic does not hold back the others", () => {
    const state = new BrokerState();
    join(state, "a");
    publish(state, T0, ...Array.from({ length: 20 }, (_, i) => msg("orders.busy", `b${i}`)));
    publish(state, T0, msg("orders.quiet", "q0"));
    settleAll(state, "a", "ack");
    // the first five went out when the busy topic alone had messages; the quiet one is next in turn
    expect(holding(state, "a")).toEqual([
      "orders.quiet#0",
      "orders.busy#5",
      "orders.busy#6",
      "orders.busy#7",
      "orders.busy#8",
    ]);
  });

  test("with many topics waiting, each gets its turn in the order the topics matched", () => {
    const state = new BrokerState();
    join(state, "a");
    const topics = ["orders.t0", "orders.t1", "orders.t2", "orders.t3", "orders.t4"];
    publish(state, T0, ...[0, 1, 2].flatMap(() => topics.map((t) => msg(t))));
    for (const round of [0, 1, 2]) {
      expect(holding(state, "a")).toEqual(topics.map((t) => `${t}#${round}`));
      settleAll(state, "a", "ack");
    }
    expect(holding(state, "a")).toEqual([]);
  });

  test("a message naked maxDeliver times is a dead letter that names its own topic; the dead-letter topic is never read", () => {
    const state = new BrokerState();
    join(state, "a", ">");
    publish(state, T0, msg("orders.eu", "e0"));
    settleAll(state, "a", "nak");
    settleAll(state, "a", "nak");
    const g = state.groups.get("g");
    expect(g?.dead.map((d) => [d.topic, d.offset, d.attempts])).toEqual([["orders.eu", 0, 2]]);
    publish(state, T0, { ...msg("orders.dlq", "e0"), producer: "mqraft-dlq:g", seq: 1 });
    expect(g?.dead).toEqual([]);
    expect(g?.recentDead.map((d) => [d.topic, d.storedAt])).toEqual([["orders.eu", 0]]);
    expect(holding(state, "a")).toEqual([]);
  });

  test("the snapshot carries the pattern's topics, cursors and keys: a restored replica hands out the same", () => {
    const state = new BrokerState();
    publish(state, T0, msg("orders.eu", "e0"), msg("orders.us", "u0"));
    join(state, "a");
    join(state, "b");
    publish(state, T0 + 1, ...Array.from({ length: 12 }, (_, i) => msg(i % 3 === 0 ? "orders.eu" : "orders.us")));
    settleAll(state, "a", "nak", T0 + 2);
    const copy = BrokerState.restore(state.snapshot());
    expect(Buffer.from(copy.snapshot()).equals(Buffer.from(state.snapshot()))).toBe(true);
    expect(holding(copy, "b")).toEqual(holding(state, "b"));
    const later: Command[] = [
      { type: "publish", time: T0 + 3, messages: [msg("orders.asia"), msg("orders.eu")] },
      { type: "group-tick", time: T0 + 30_003 },
      { type: "group-leave", time: T0 + 30_004, group: "g", member: "b" },
    ];
    for (const c of later) expect(applyNext(copy, c)).toEqual(applyNext(state, c));
    expect(holding(copy, "a")).toEqual(holding(state, "a"));
    expect(Buffer.from(copy.snapshot()).equals(Buffer.from(state.snapshot()))).toBe(true);
  });
});
