import { afterEach, describe, expect, test } from "bun:test";
import { TestCluster } from "../support/cluster.ts";
import { probeStatus } from "../support/wire-probe.ts";

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.destroy();
  cluster = undefined;
});

describe("leader election (the demo's scenarios)", () => {
  test("three brokers with equal election timeouts elect exactly one leader, and all agree", async () => {
    cluster = await TestCluster.create({ nodes: 3 });
    const leader = await cluster.waitForLeader();
    const views = await Promise.all(cluster.addresses.map((a) => probeStatus(a)));
    expect(views.map((v) => v?.leader)).toEqual([leader, leader, leader]);
    const terms = new Set(views.map((v) => v?.term));
    expect(terms.size).toBe(1);
    expect(cluster.log(leader)).toContain(`LEADER] INFO: New leader ${cluster.broker(leader).address}`);
  });

  test("with different election timeouts the broker with the shortest one becomes leader", async () => {
    // Broker 3 times out after 150-300 ms, the others after 3-6 s: only broker 3 can win the first election.
    cluster = await TestCluster.create({ nodes: 3, argsFor: (id) => ["--election-ms", id === 3 ? "150" : "3000"] });
    expect(await cluster.waitForLeader(10_000)).toBe(3);
  });

  test("the leader killed twice in a row: a new leader each time, from the survivors", async () => {
    // The demo shrank its cluster when a node died, which Raft forbids (it can lose acknowledged
    // data); with five voters, two failures still leave a majority.
    cluster = await TestCluster.create({ nodes: 5 });
    const first = await cluster.waitForLeader();
    await cluster.stop(first, "SIGKILL");
    const second = await cluster.waitForLeader(10_000, first);
    expect(cluster.log(second)).toContain("Timeout, sending REQUEST_TO_VOTE");
    await cluster.stop(second, "SIGKILL");
    const third = await cluster.waitForLeader(10_000, second);
    expect([first, second]).not.toContain(third);
    expect(cluster.log(third)).toContain(`LEADER] INFO: New leader ${cluster.broker(third).address}`);
  });

  test("two of three brokers down: the last one never claims leadership; one back and a leader is elected", async () => {
    cluster = await TestCluster.create({ nodes: 3 });
    const first = await cluster.waitForLeader();
    const others = cluster.brokers.map((b) => b.id).filter((id) => id !== first);
    await cluster.stop(first, "SIGKILL");
    await cluster.stop(others[0] as number, "SIGKILL");
    const alone = cluster.broker(others[1] as number);
    // For several election timeouts it keeps asking and never leads.
    const deadline = performance.now() + 2_000;
    while (performance.now() < deadline) {
      const view = await probeStatus(alone.address);
      expect(view?.nodes.find((n) => n.id === alone.id)?.role).not.toBe("leader");
      await Bun.sleep(100);
    }
    cluster.start(first);
    const leader = await cluster.waitForLeader(10_000);
    expect([first, alone.id]).toContain(leader);
  });
});
