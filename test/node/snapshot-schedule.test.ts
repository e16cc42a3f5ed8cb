import { expect, test } from "bun:test";
import { nextSnapshotIndex, snapshotPhase } from "../../src/node/snapshot-schedule.ts";

test("brokers of one cluster snapshot at different indexes, each every `every` entries", () => {
  const every = 10_000;
  const phases = [1, 2, 3, 4, 5].map((id) => snapshotPhase(id, every));
  expect(new Set(phases).size).toBe(5);
  // Three brokers: no two within a tenth of the interval of each other, so their pauses do not overlap.
  const three = phases.slice(0, 3).toSorted((a, b) => a - b);
  const gaps = [three[1]! - three[0]!, three[2]! - three[1]!, every - three[2]! + three[0]!];
  expect(Math.min(...gaps)).toBeGreaterThan(every / 10);
  for (const id of [1, 2, 3]) {
    const first = nextSnapshotIndex(0, every, id);
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThanOrEqual(every);
    expect(nextSnapshotIndex(first, every, id)).toBe(first + every);
    // After a snapshot installed from the leader at another phase, the broker returns to its own.
    expect(nextSnapshotIndex(first + 1, every, id)).toBe(first + every);
  }
});

test("a small interval still snapshots: the first at most `every` entries in, then every `every`", () => {
  for (const id of [1, 2, 3, 7]) {
    const first = nextSnapshotIndex(0, 10, id);
    expect(first).toBeGreaterThanOrEqual(1);
    expect(first).toBeLessThanOrEqual(10);
    expect(nextSnapshotIndex(first, 10, id) - first).toBe(10);
  }
});
