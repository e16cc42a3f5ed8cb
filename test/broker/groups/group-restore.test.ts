import { describe, expect, test } from "bun:test";
import type { Group } from "../../../src/broker/groups/group.ts";
import { groupSnapshot, restoreGroup } from "../../../src/broker/groups/group-snapshot.ts";
import { BrokerState } from "../../../src/broker/state-machine.ts";
import { T0 } from "../helpers.ts";
import { apply, join, publishN } from "./group-helpers.ts";

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
