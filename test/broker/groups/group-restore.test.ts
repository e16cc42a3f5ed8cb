import { describe, expect, test } from "bun:test";
import type { Group } from "../../../src/broker/groups/group.ts";
import { groupSnapshot, restoreGroup } from "../../../src/broker/groups/group-snapshot.ts";
import { DEAD_LETTER_PRODUCER } from "../../../src/broker/groups/groups.ts";
import { restoreGroups } from "../../../src/broker/snapshot-groups.ts";
import { BrokerState } from "../../../src/broker/state-machine.ts";
import type { TopicIndex } from "../../../src/broker/topic-index.ts";
import { msg, publish, T0 } from "../helpers.ts";
import { apply, join, publishN, SETTINGS } from "./group-helpers.ts";

/** Snapshots of consumer groups that every replica must restore, to the state the others have. */

function progress(state: BrokerState, time: number, offsets: number[]): void {
  const attempts = offsets.map(() => 1);
  const r = apply(state, {
    type: "group-ack",
    time,
    group: "workers",
    member: "a",
    kind: "progress",
    offsets,
    attempts,
  });
  expect(r).toMatchObject({ type: "group-ack", refused: [] });
}

function group(state: BrokerState): Group {
  const g = state.groups.get("workers");
  if (g === undefined) throw new Error("group workers is missing");
  return g;
}

/** Restores `state`'s snapshot, which must give back the same group. */
function roundTrip(state: BrokerState): BrokerState {
  const copy = BrokerState.restore(state.snapshot());
  expect(groupSnapshot(group(copy))).toEqual(groupSnapshot(group(state)));
  return copy;
}

describe("a progress note that leaves a deadline where it is", () => {
  test("in the ms of the delivery: the snapshot restores, and the delivery still expires once", () => {
    const state = new BrokerState();
    join(state, "a");
    publishN(state, 2);
    progress(state, T0, [0, 1]);
    const copy = roundTrip(state);
    for (const s of [state, copy]) {
      // a tick past the deadline takes both back once each: redelivered, not counted twice
      apply(s, { type: "group-tick", time: T0 + 30_000 });
      expect(group(s)).toMatchObject({ redelivered: 2 });
    }
  });

  test("an offset named twice in one note (progress() twice in a turn): the snapshot restores", () => {
    const state = new BrokerState();
    join(state, "a");
    publishN(state, 3, T0);
    progress(state, T0 + 5, [0, 0, 2, 2]);
    roundTrip(state);
  });

  test("a snapshot an older build wrote with a deadline twice restores; one that misses or invents one does not", () => {
    const state = new BrokerState();
    join(state, "a");
    publishN(state, 2);
    const written = groupSnapshot(group(state));
    expect(written.expiry).toHaveLength(2);
    const [first, second] = written.expiry as [[number, number, number], [number, number, number]];
    const twice = restoreGroup({ ...written, expiry: [first, first, second, second] });
    expect(groupSnapshot(twice)).toEqual(written);
    // a group an older build brought to hold an entry twice writes it once
    group(state).expiry.push(...first);
    expect(groupSnapshot(group(state)).expiry).toEqual(written.expiry);
    expect(() => restoreGroup({ ...written, expiry: [first, first] })).toThrow("a delivery has no deadline");
    const invented: [number, number, number] = [first[0], first[1], first[2] + 1];
    expect(() => restoreGroup({ ...written, expiry: [first, invented, second] })).toThrow("matches no delivery");
  });
});

describe("a dead letter of a group on a topic pattern", () => {
  test("keeps its topic through a snapshot: a restored leader finds its message and stores it as the others do", () => {
    const state = new BrokerState();
    const settings = { ...SETTINGS, maxDeliver: 1 };
    apply(state, { type: "group-join", time: T0, group: "workers", topic: "jobs.>", member: "a", settings });
    const [stored] = publish(state, T0, msg("jobs.x", "first"), msg("jobs.y", "second"));
    const keys = group(state).heldBy(group(state).members.get("a"));
    expect(keys).toHaveLength(2);
    const attempts = keys.map(() => 1);
    apply(state, {
      type: "group-ack",
      time: T0 + 1,
      group: "workers",
      member: "a",
      kind: "nak",
      offsets: keys,
      attempts,
    });
    expect(group(state).dead.map((d) => d.topic)).toEqual(["jobs.x", "jobs.y"]);
    const copy = BrokerState.restore(state.snapshot());
    expect(group(copy).dead).toEqual(group(state).dead);
    // the leader reads each letter's message where its topic keeps it, and publishes it under the group's producer
    const index = state.appliedIndex - 1;
    expect(stored).toMatchObject({ type: "publish", topic: "jobs.x", offset: 0 });
    for (const s of [state, copy]) {
      const letters = group(s).dead.map((d) => ({ seq: d.seq, at: s.locate(d.topic ?? group(s).topic, d.offset) }));
      expect(letters).toEqual([
        { seq: 1, at: { index, slot: 0 } },
        { seq: 2, at: { index, slot: 1 } },
      ]);
      for (const { seq } of letters)
        publish(s, T0 + 2, {
          topic: "jobs.dlq",
          data: new Uint8Array(1),
          producer: `${DEAD_LETTER_PRODUCER}workers`,
          seq,
        });
      expect(group(s).recentDead.map((d) => [d.topic, d.storedAt])).toEqual([
        ["jobs.x", 0],
        ["jobs.y", 1],
      ]);
    }
    expect(Buffer.from(copy.snapshot()).equals(Buffer.from(state.snapshot()))).toBe(true);
  });
});

describe("the member turn of a group on a topic pattern, restored", () => {
  const settings = { ...SETTINGS, maxDeliver: 5 };
  /** Members m1 and m2 on jobs.>; m1 took key 0 and acked it (the fill after the hand-out found jobs.x empty). */
  function acked(): BrokerState {
    const state = new BrokerState();
    for (const member of ["m1", "m2"])
      apply(state, { type: "group-join", time: T0, group: "workers", topic: "jobs.>", member, settings });
    publish(state, T0 + 1, msg("jobs.x", "first"));
    // a fill that finds a topic it took as ready empty moves the turn too, on every replica and build: here it
    // handed key 0 to m1, then passed the turn to m2 and found nothing, so the turn is back at m1
    expect(group(state).turn).toBe(0);
    const r = apply(state, {
      type: "group-ack",
      time: T0 + 2,
      group: "workers",
      member: "m1",
      kind: "ack",
      offsets: [0],
      attempts: [1],
    });
    expect(r).toMatchObject({ refused: [] });
    return state;
  }

  /** A heartbeat (a fill with nothing new), then a publish: who gets key 1. */
  function nextHolder(state: BrokerState): string | undefined {
    apply(state, {
      type: "group-ack",
      time: T0 + 3,
      group: "workers",
      member: "m1",
      kind: "ack",
      offsets: [],
      attempts: [],
    });
    publish(state, T0 + 4, msg("jobs.x", "second"));
    return group(state).outstanding.get(1)?.member.id;
  }

  test("a restored replica hands the next message to the member the others do", () => {
    const original = acked();
    const copy = BrokerState.restore(original.snapshot());
    expect(nextHolder(copy)).toBe("m1");
    expect(nextHolder(original)).toBe("m1");
    expect(Buffer.from(copy.snapshot()).equals(Buffer.from(original.snapshot()))).toBe(true);
  });

  test("a snapshot of an older build (no ready topics) takes the topics with messages past their cursor, as the others list them", () => {
    const nextOffsets = (state: BrokerState) =>
      new Map(state.topics().map((t) => [t, { nextOffset: state.nextOffsetOf(t) } as unknown as TopicIndex]));
    const older = (state: BrokerState) => {
      const written = groupSnapshot(group(state));
      const { ready: _, ...pattern } = written.pattern ?? {};
      return { ...written, pattern };
    };
    // drained: jobs.x empty past the cursor, listed by no replica (listing it would pass the turn once more)
    const drained = acked();
    expect(groupSnapshot(group(drained)).pattern?.ready).toEqual([]);
    const [upgraded] = restoreGroups([older(drained)], nextOffsets(drained));
    expect(upgraded && groupSnapshot(upgraded).pattern?.ready).toEqual([]);
    // messages waiting on jobs.x and jobs.y while both members are full (one each at most): listed by every replica
    const waiting = new BrokerState();
    for (const member of ["m1", "m2"])
      apply(waiting, {
        type: "group-join",
        time: T0,
        group: "workers",
        topic: "jobs.>",
        member,
        settings: { ...settings, maxPending: 1 },
      });
    for (const [i, topic] of ["jobs.x", "jobs.x", "jobs.x", "jobs.y"].entries())
      publish(waiting, T0 + 1 + i, msg(topic, `m${i}`));
    const listed = groupSnapshot(group(waiting)).pattern?.ready;
    expect(listed).toEqual([0, 1]);
    const [again] = restoreGroups([older(waiting)], nextOffsets(waiting));
    expect(again && groupSnapshot(again).pattern?.ready).toEqual(listed);
  });

  test("a snapshot of an older build (no ready topics) still restores; one naming a topic it lacks does not", () => {
    const written = groupSnapshot(group(acked()));
    const pattern = written.pattern;
    if (pattern === undefined) throw new Error("no pattern state in the snapshot");
    expect(pattern.ready).toEqual([]);
    const { ready: _, ...older } = pattern;
    // every topic taken as ready, as such a build did
    expect(groupSnapshot(restoreGroup({ ...written, pattern: older })).pattern?.ready).toEqual([0]);
    for (const ready of [[1], [0, 0]])
      expect(() => restoreGroup({ ...written, pattern: { ...pattern, ready } })).toThrow("ready topics");
  });
});
