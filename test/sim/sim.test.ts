/** The deterministic simulation in `make test`: a few hundred seeds over 3, 5 and 7 nodes, plus its own parts. */
import { describe, expect, test } from "bun:test";
import { createPrng } from "../../src/util/prng.ts";
import { Violation } from "./invariants.ts";
import { SimNetwork } from "./network.ts";
import { RaftChecker } from "./raft-checker.ts";
import { runSeed } from "./run-seed.ts";
import { Scheduler } from "./scheduler.ts";

const SEEDS_PER_SIZE = 100;

describe("simulated clusters", () => {
  for (const nodes of [3, 5, 7]) {
    test(`${SEEDS_PER_SIZE} seeds of ${nodes} nodes keep every invariant and converge after healing`, () => {
      const failures: string[] = [];
      let committed = 0;
      for (let seed = 1; seed <= SEEDS_PER_SIZE; seed++) {
        const r = runSeed(seed, { nodes });
        committed += r.stats.committed;
        if (r.violation !== undefined) {
          failures.push(
            `seed ${seed}: ${r.violation.message}\n${r.violation.trace.slice(-30).join("\n")}\nreproduce: bun run sim --seeds 1 --start ${seed} --nodes ${nodes}`,
          );
        }
      }
      expect(failures.slice(0, 1)).toEqual([]);
      expect(committed).toBeGreaterThan(SEEDS_PER_SIZE * 50);
    });
  }

  test("seeds that once broke an invariant now keep them all and converge", () => {
    // 11839: a repaired node's vote floor was at its hard-state term (10), above every entry it had held (term 2),
    // so it refused the candidates holding its lost log and no leader was elected for good
    for (const seed of [11839]) {
      const r = runSeed(seed);
      expect(r.violation?.message).toBeUndefined();
      expect(r.stats.damages).toBeGreaterThan(0);
    }
  });

  test("a seed replays exactly", () => {
    const a = runSeed(4242);
    const b = runSeed(4242);
    expect(b.stats).toEqual(a.stats);
    expect(b.profile).toEqual(a.profile);
    expect(b.final).toBe(a.final);
    expect(a.stats.sent).toBeGreaterThan(1000);
  });
});

describe("checker", () => {
  const fails = (action: () => void): string => {
    try {
      action();
      return "no violation";
    } catch (e) {
      return e instanceof Violation ? e.invariant : String(e);
    }
  };

  test("two votes in one term are caught", () => {
    const c = new RaftChecker();
    c.voted(1, 3, 2);
    c.voted(1, 3, 2);
    expect(fails(() => c.voted(1, 3, 4))).toBe("one vote per term");
  });

  test("two states at one index are caught", () => {
    const c = new RaftChecker();
    c.stateAt(1, 5, 1, 111);
    expect(fails(() => c.stateAt(2, 5, 1, 222))).toBe("state machine safety");
  });

  test("a vote changed within a term on disk, and a term going back, are caught", () => {
    const c = new RaftChecker();
    const log = () => undefined;
    c.persisted(1, { term: 2, vote: 3, commit: 0 }, [], log);
    expect(fails(() => c.persisted(1, { term: 2, vote: 4, commit: 0 }, [], log))).toBe("one vote per term");
    expect(fails(() => c.persisted(1, { term: 1, vote: 0, commit: 0 }, [], log))).toBe("term monotonic");
  });

  test("different entries at one (index, term) are caught", () => {
    const c = new RaftChecker();
    const log = () => 1;
    c.persisted(1, undefined, [{ index: 4, term: 2, kind: 0, data: new Uint8Array([1]) }], log);
    expect(
      fails(() => c.persisted(2, undefined, [{ index: 4, term: 2, kind: 0, data: new Uint8Array([2]) }], log)),
    ).toBe("log matching");
  });
});

describe("network", () => {
  test("a partition drops messages already in flight, and healing lets new ones through", () => {
    const scheduler = new Scheduler();
    const got: string[] = [];
    const net = new SimNetwork<string>(scheduler, createPrng(1), [10, 10], (from, to, m) =>
      got.push(`${from}->${to}:${m}`),
    );
    net.send(1, 2, "a");
    net.partition([[1], [2, 3]]);
    net.send(1, 3, "b");
    scheduler.runUntil(50);
    net.heal();
    net.send(1, 2, "c");
    scheduler.runUntil(100);
    expect(got).toEqual(["1->2:c"]);
    expect(net.stats).toMatchObject({ sent: 3, delivered: 1, cut: 2 });
  });

  test("a one-way cut blocks only its direction", () => {
    const scheduler = new Scheduler();
    const got: string[] = [];
    const net = new SimNetwork<string>(scheduler, createPrng(1), [1, 5], (from, to, m) =>
      got.push(`${from}->${to}:${m}`),
    );
    net.cut(1, 2);
    net.send(1, 2, "x");
    net.send(2, 1, "y");
    scheduler.runUntil(10);
    expect(got).toEqual(["2->1:y"]);
  });

  test("events at the same time run in the order they were scheduled", () => {
    const scheduler = new Scheduler();
    const order: number[] = [];
    for (const i of [1, 2, 3]) scheduler.after(5, () => order.push(i));
    scheduler.after(1, () => order.push(0));
    scheduler.runUntil(5);
    expect(order).toEqual([0, 1, 2, 3]);
  });
});
