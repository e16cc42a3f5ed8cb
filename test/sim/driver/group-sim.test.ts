/**
 * Consumer groups in the driver simulation (run-group-seed.ts): acks, naks, redelivery after the ack wait, member
 * churn and leader failover over production's broker assembly. `bun test/sim/driver/group-sim-run.ts --seeds 2000`
 * runs more seeds than make test does.
 */
import { describe, expect, test } from "bun:test";
import { Group } from "../../../src/broker/groups/group.ts";
import { GroupChecker } from "./group-checker.ts";
import { runGroupSeed } from "./run-group-seed.ts";
import { runSeeds, violationOf } from "./seed-runs.ts";

const SEEDS = 40;

describe("consumer groups on simulated production brokers", () => {
  test(`${SEEDS} seeds: each message acknowledged once, none lost, across crashes, failovers and member churn`, async () => {
    const keys = ["received", "redelivered", "acked", "deadLettered", "crashes"] as const;
    const { totals, failures } = await runSeeds(runGroupSeed, keys, SEEDS);
    expect(failures.slice(0, 1)).toEqual([]);
    // the runs did what they are for: deliveries, redeliveries, dead letters and crashes
    expect(totals.acked).toBeGreaterThan(SEEDS * 20);
    expect(totals.redelivered).toBeGreaterThan(SEEDS * 5);
    expect(totals.deadLettered).toBeGreaterThan(SEEDS / 4);
    expect(totals.crashes).toBeGreaterThan(SEEDS);
  }, 120_000);

  test("a seed replays exactly", async () => {
    const a = await runGroupSeed(77);
    const b = await runGroupSeed(77);
    expect(b.stats).toEqual(a.stats);
    expect(b.final).toBe(a.final);
  });
});

describe("group checker, one defect each", () => {
  const fails = violationOf;
  const settings = { ackWaitMs: 1, maxDeliver: 2, deadLetter: "d", maxPending: 5, from: "earliest" as const };

  test("a message handed out again after its ack resolved", () => {
    const c = new GroupChecker();
    c.delivered("a", 0, 1);
    c.ackResolved("a", 0);
    expect(fails(() => c.delivered("b", 0, 2))).toBe("group: acknowledged once");
  });

  test("two acks of one message resolved", () => {
    const c = new GroupChecker();
    c.ackResolved("a", 3);
    expect(fails(() => c.ackResolved("b", 3))).toBe("group: acknowledged once");
  });

  test("a message never handed out, one still held, and counts that do not add up", () => {
    const c = new GroupChecker();
    const g = new Group("g", "t", settings);
    g.cursor = 2;
    g.acked = 2;
    expect(fails(() => c.finished(g, 3, 0))).toBe("group: none lost");
    g.cursor = 3;
    expect(fails(() => c.finished(g, 3, 0))).toBe("group: none lost");
    g.acked = 3;
    expect(fails(() => c.finished(g, 3, 0))).toBe("no violation");
    g.join("m", 0);
    g.assign(g.order[0] as never, 2, 1, 1, 0);
    expect(fails(() => c.finished(g, 3, 0))).toBe("group: none lost");
  });

  test("a dead letter stored twice, or not at all", () => {
    const c = new GroupChecker();
    const g = new Group("g", "t", settings);
    g.cursor = 1;
    g.deadLettered = 1;
    expect(fails(() => c.finished(g, 1, 2))).toBe("group: dead letters");
    expect(fails(() => c.finished(g, 1, 0))).toBe("group: dead letters");
    expect(fails(() => c.finished(g, 1, 1))).toBe("no violation");
  });
});
