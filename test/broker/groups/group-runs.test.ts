import { describe, expect, test } from "bun:test";
import type { Group } from "../../../src/broker/groups/group.ts";
import type { AckKind, GroupResult, GroupSettings } from "../../../src/broker/groups/group-commands.ts";
import { seqOf, sizeOf } from "../../../src/broker/groups/group-records.ts";
import { groupSnapshot } from "../../../src/broker/groups/group-snapshot.ts";
import { splitSnapshot } from "../../../src/broker/snapshot-codec.ts";
import { BrokerState } from "../../../src/broker/state-machine.ts";
import { asRanges } from "../../../src/client/group-settles.ts";
import { expandRanges } from "../../../src/node/group-service.ts";
import { createPrng, type Prng } from "../../../src/util/prng.ts";
import { applyNext, T0 } from "../helpers.ts";
import { apply, held, join, publishN, SETTINGS } from "./group-helpers.ts";

/** Groups that hand out runs (command version 4: settings.run) and acks that name ranges. */

/** Short waits and few deliveries, so that random runs meet expiries and dead letters. */
const RUNS: Partial<GroupSettings> = { ackWaitMs: 1000, maxDeliver: 3 };

/** Joins with RUNS and `settings`. */
const enter = (state: BrokerState, member: string, settings: Partial<GroupSettings> = {}, time = T0) =>
  join(state, member, time, { ...RUNS, ...settings });

function group(state: BrokerState): Group {
  const g = state.groups.get("workers");
  if (g === undefined) throw new Error("no group");
  return g;
}

/** The format version a snapshot's header gives. */
function versionOf(bytes: Uint8Array): number | undefined {
  return (splitSnapshot(bytes)?.header as { version?: number } | undefined)?.version;
}

/** Which fields of two group snapshots differ, and how (for a failure's message). */
function differs(a: object, b: object): string {
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const keys = Object.keys(x).filter((k) => JSON.stringify(x[k]) !== JSON.stringify(y[k]));
  return `the states differ in ${keys.map((k) => `${k}: ${JSON.stringify(x[k]).slice(0, 300)} vs ${JSON.stringify(y[k]).slice(0, 300)}`).join("; ")}`;
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe("a group that hands out runs", () => {
  test("a few messages go to as many members as one at a time would, each a run of consecutive offsets", () => {
    const state = new BrokerState();
    for (const m of ["a", "b", "c"]) enter(state, m, { run: 256 });
    publishN(state, 10);
    expect(["a", "b", "c"].map((m) => held(state, m))).toEqual([range(0, 4), range(4, 8), range(8, 10)]);
  });

  test("a backlog goes in runs of at most `run`, within each member's maxPending; an ack of a run frees room for the next", () => {
    const state = new BrokerState();
    for (const m of ["a", "b", "c"]) enter(state, m, { run: 64 });
    publishN(state, 1000);
    // each member in turn gets a run of 64 until it holds its 100
    expect(held(state, "a")).toEqual([...range(0, 64), ...range(192, 228)]);
    expect(held(state, "b")).toEqual([...range(64, 128), ...range(228, 264)]);
    expect(held(state, "c")).toEqual([...range(128, 192), ...range(264, 300)]);
    const r = apply(state, {
      type: "group-ack",
      time: T0 + 1,
      group: "workers",
      member: "a",
      kind: "ack",
      offsets: [],
      attempts: [],
      ranges: [0, 64, 1, 192, 36, 1],
      v: 4,
    });
    expect(r).toMatchObject({ settled: 100, refused: [] });
    expect(held(state, "a")).toEqual([...range(300, 364), ...range(364, 400)]);
    expect(group(state).acked).toBe(100);
  });

  test("a range settles each delivery it names that the member holds; the others are refused, one by one", () => {
    const state = new BrokerState();
    enter(state, "a", { run: 256, maxPending: 5 });
    enter(state, "b", { run: 256, maxPending: 5 });
    publishN(state, 10);
    expect(held(state, "a")).toEqual(range(0, 5));
    const r = apply(state, {
      type: "group-ack",
      time: T0 + 1,
      group: "workers",
      member: "a",
      kind: "nak",
      offsets: [4],
      attempts: [1],
      // 3 and 4 settled already or by then, 5 is b's, attempt 2 of 0 was never delivered
      ranges: [2, 4, 1, 0, 1, 2],
      v: 4,
    });
    expect(r).toMatchObject({ settled: 3, refused: [4, 5, 0] });
  });

  test("more than 1,000 settles in one ack, offsets and ranges together, are refused on every replica alike", () => {
    const state = new BrokerState();
    enter(state, "a", { run: 256 });
    const [r] = applyNext(state, {
      type: "group-ack",
      time: T0,
      group: "workers",
      member: "a",
      kind: "ack",
      offsets: [0],
      attempts: [1],
      ranges: [1, 1000, 1],
      v: 4,
    });
    expect(r).toMatchObject({ type: "error", code: "BAD_MESSAGE" });
  });

  test("the snapshot of a group with runs is version 5, carries the run, and restores to the same state", () => {
    const state = new BrokerState();
    enter(state, "a", { run: 32 });
    publishN(state, 50);
    const bytes = state.snapshot();
    expect(versionOf(bytes)).toBe(5);
    const restored = BrokerState.restore(bytes);
    expect(groupSnapshot(group(restored))).toEqual(groupSnapshot(group(state)));
    expect(group(restored).settings.run).toBe(32);
    // and both go on alike
    for (const s of [state, restored]) publishN(s, 50, T0 + 1);
    expect(groupSnapshot(group(restored))).toEqual(groupSnapshot(group(state)));
    // a state with no such group still writes version 4, which builds from before runs read
    const plain = new BrokerState();
    enter(plain, "a");
    expect(versionOf(plain.snapshot())).toBe(4);
  });
});

/** Settles `offsets` (with their `attempts`) for `member` in `state`, one way or another. */
type Settle = (
  state: BrokerState,
  member: string,
  kind: AckKind,
  offsets: number[],
  attempts: number[],
  time: number,
) => GroupResult;

/**
 * Random work on a group: publishes, members joining and leaving, settles (ack, nak, progress; some late, of an
 * earlier delivery, some of messages the member does not hold) and time passing. `settle` is how each settle reaches
 * the state.
 */
function randomRun(
  prng: Prng,
  states: BrokerState[],
  settings: Partial<GroupSettings>,
  settle: Settle,
  compare: (step: number) => void,
): void {
  const members = ["a", "b", "c"];
  let time = T0;
  for (const s of states) enter(s, "a", settings, time);
  for (let step = 0; step < 200; step++) {
    time += prng.int(0, 400);
    const roll = prng.next();
    const member = prng.pick(members);
    if (roll < 0.25) {
      const n = prng.int(1, 40);
      for (const s of states) publishN(s, n, time);
    } else if (roll < 0.3) {
      for (const s of states) enter(s, member, settings, time);
    } else if (roll < 0.33) {
      for (const s of states)
        if (group(s).members.has(member)) apply(s, { type: "group-leave", time, group: "workers", member });
    } else if (roll < 0.38) {
      for (const s of states) apply(s, { type: "group-tick", time });
    } else {
      const [first] = states as [BrokerState];
      const mine = held(first, member);
      // mostly what it holds, in order; sometimes with strangers, late attempts and gaps
      const offsets = mine.filter(() => prng.chance(0.8)).slice(0, prng.int(0, 300));
      if (prng.chance(0.2)) offsets.push(prng.int(0, 500));
      const g = group(first);
      const attempts = offsets.map((o) => {
        const attempt = g.outstanding.get(o)?.attempt ?? 1;
        return prng.chance(0.05) ? attempt + 1 : attempt;
      });
      const kind: AckKind = prng.chance(0.7) ? "ack" : prng.chance(0.5) ? "nak" : "progress";
      if (group(first).members.has(member)) {
        const results = states.map((s) => settle(s, member, kind, offsets, attempts, time));
        for (const r of results.slice(1)) expect(r).toEqual(results[0] as GroupResult);
      }
    }
    compare(step);
  }
}

describe("differential: ranges and runs against one message at a time", () => {
  test("settles sent as ranges leave exactly the state that the same settles listed one by one leave (12 seeds)", () => {
    for (let seed = 1; seed <= 12; seed++) {
      const prng = createPrng(seed);
      const listed = new BrokerState();
      const ranged = new BrokerState();
      randomRun(
        prng,
        [listed, ranged],
        { run: prng.pick([1, 7, 64, 256]) },
        (state, member, kind, offsets, attempts, time) => {
          const base = { type: "group-ack" as const, time, group: "workers", member, kind };
          if (state === listed) return apply(state, { ...base, offsets, attempts });
          const ranges = asRanges(offsets, attempts);
          // the client's form round-trips to the same settles, in the same order
          if (ranges !== undefined) expect(expandRanges([], [], ranges)).toEqual({ offsets, attempts });
          return ranges === undefined
            ? apply(state, { ...base, offsets, attempts })
            : apply(state, { ...base, offsets: [], attempts: [], ranges, v: 4 });
        },
        (step) => {
          // every 25 steps and at the end: a difference, once made, stays
          if (step % 25 !== 24) return;
          const [a, b] = [groupSnapshot(group(listed)), groupSnapshot(group(ranged))];
          if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`seed ${seed} step ${step}: ${differs(a, b)}`);
        },
      );
      expect(group(listed).acked).toBe(group(ranged).acked);
    }
  });

  test("with one member a group with runs hands out, redelivers and dead-letters as one without (12 seeds)", () => {
    for (let seed = 1; seed <= 12; seed++) {
      const prng = createPrng(seed);
      const single = new BrokerState();
      const runs = new BrokerState();
      // only member "a" ever joins: the settings decide nothing but the run
      const settle: Settle = (state, member, kind, offsets, attempts, time) =>
        apply(state, { type: "group-ack", time, group: "workers", member, kind, offsets, attempts });
      const states = [single, runs];
      let time = T0;
      enter(single, "a", {}, time);
      enter(runs, "a", { run: prng.pick([2, 64, 256]) }, time);
      for (let step = 0; step < 200; step++) {
        time += prng.int(0, 400);
        const roll = prng.next();
        const n = prng.int(1, 60);
        if (roll < 0.3) for (const s of states) publishN(s, n, time);
        else if (roll < 0.35) for (const s of states) apply(s, { type: "group-tick", time });
        else {
          const mine = held(single, "a").filter(() => prng.chance(0.7));
          const g = group(single);
          const attempts = mine.map((o) => g.outstanding.get(o)?.attempt ?? 1);
          const kind: AckKind = prng.chance(0.8) ? "ack" : "nak";
          const [x, y] = states.map((s) => settle(s, "a", kind, mine, attempts, time));
          expect(y).toEqual(x as GroupResult);
        }
        if (step % 25 !== 24) continue;
        const { settings: _s, ...a } = groupSnapshot(group(single));
        const { settings: _r, ...b } = groupSnapshot(group(runs));
        if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`seed ${seed} step ${step}: ${differs(a, b)}`);
      }
    }
  });

  test("with three members every message is held by one member at a time and settled once (40 seeds)", () => {
    for (let seed = 1; seed <= 40; seed++) {
      const prng = createPrng(seed);
      const state = new BrokerState();
      randomRun(prng, [state], { run: prng.pick([3, 64, 256]) }, settleAsClient, () => {
        const g = group(state);
        let holding = 0;
        for (const m of g.order) {
          expect(g.heldBy(m).length).toBe(m.holding);
          expect(m.holding).toBeLessThanOrEqual(SETTINGS.maxPending);
          holding += m.holding;
        }
        expect(holding).toBe(g.outstanding.size);
        for (const key of g.pending.keys()) expect(g.outstanding.has(key)).toBe(false);
        // every offset handed out is settled, held, waiting, dead-lettered or dropped, and no more
        expect(g.acked + g.outstanding.size + g.pending.size + g.deadLettered + g.dropped).toBe(g.cursor - g.start);
      });
    }
  });
});

/** Makes the group of `state` keep a record per delivery (the form before run records): assign never extends a run. */
/** A member's settle as the client library sends it: as ranges where they are shorter, else listed. */
function settleAsClient(
  s: BrokerState,
  member: string,
  kind: AckKind,
  offsets: number[],
  attempts: number[],
  time: number,
): GroupResult {
  const ranges = asRanges(offsets, attempts);
  const base = { type: "group-ack" as const, time, group: "workers", member, kind };
  return ranges === undefined
    ? apply(s, { ...base, offsets, attempts })
    : apply(s, { ...base, offsets: [], attempts: [], ranges, v: 4 });
}

function recordPerMessage(state: BrokerState): void {
  const g = group(state);
  const assign = g.assign.bind(g);
  g.assign = (member, ...rest) => {
    member.lastRun = undefined;
    assign(member, ...rest);
  };
}

/** Every delivery as the pump, the settles and a snapshot see it, in the group's order; and each member's index. */
function deliveries(g: Group): unknown[] {
  const out = Array.from(g.outstanding, ([key, d]) => [
    key,
    d.member.id,
    d.attempt,
    d.deadline,
    sizeOf(d, key),
    seqOf(d, key),
  ]);
  return [out, g.order.map((m) => [m.id, m.holding, m.bytes, m.assignedBase, m.assigned.join()])];
}

describe("differential: a record per run against a record per message", () => {
  test("the same commands leave the same deliveries, indexes and snapshot (16 seeds)", () => {
    let shared = 0;
    for (let seed = 1; seed <= 16; seed++) {
      const prng = createPrng(seed);
      const single = new BrokerState();
      const runs = new BrokerState();
      const settings = { run: prng.pick([1, 3, 64, 256]) };
      for (const s of [single, runs]) enter(s, "a", settings);
      recordPerMessage(single);
      randomRun(prng, [single, runs], settings, settleAsClient, (step) => {
        const [a, b] = [deliveries(group(single)), deliveries(group(runs))];
        if (JSON.stringify(a) !== JSON.stringify(b))
          throw new Error(
            `seed ${seed} step ${step}: ${JSON.stringify(a).slice(0, 600)} vs ${JSON.stringify(b).slice(0, 600)}`,
          );
        if (step % 10 !== 9) return;
        const [x, y] = [groupSnapshot(group(single)), groupSnapshot(group(runs))];
        if (JSON.stringify(x) !== JSON.stringify(y)) throw new Error(`seed ${seed} step ${step}: ${differs(x, y)}`);
        const records = new Set(group(runs).outstanding.values()).size;
        shared = Math.max(shared, group(runs).outstanding.size - records);
      });
    }
    // the runs did share records (else the two forms were never different)
    expect(shared).toBeGreaterThan(50);
  });
});

describe("the client's ranges", () => {
  test("consecutive offsets of one attempt make one range; scattered ones stay a list", () => {
    expect(asRanges([5, 6, 7, 9, 10], [1, 1, 1, 1, 2])).toEqual([5, 3, 1, 9, 1, 1, 10, 1, 2]);
    expect(asRanges([1, 3, 5], [1, 1, 1])).toBeUndefined();
    expect(asRanges([], [])).toBeUndefined();
    expect(asRanges(range(100, 400), new Array(300).fill(1))).toEqual([100, 300, 1]);
  });
});
