/**
 * A voter restarted on an empty data folder (a replaced disk, a deleted folder) has forgotten the entries it
 * acknowledged and the votes it cast. It must not help elect a leader that may lack them (docs/storage.md, "An empty
 * data folder").
 */
import { afterEach, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { TestCluster } from "../support/cluster.ts";
import { drainRaw, publishRaw } from "../support/raw-client.ts";
import { waitFor } from "../support/wait.ts";

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.destroy();
  cluster = undefined;
});

const TOPIC = "kept";
const VALUES = Array.from({ length: 50 }, (_, i) => `m${i}`);

/** A 3-broker cluster holding VALUES, every broker with all of them applied; returns the leader. */
async function clusterHoldingValues(c: TestCluster): Promise<number> {
  const leader = await c.waitForLeader();
  await publishRaw(c.broker(leader).address, TOPIC, VALUES);
  for (const b of c.brokers)
    await waitFor(`broker ${b.id} to apply every message`, async () =>
      (await drainRaw(b.address, TOPIC)).length === VALUES.length ? true : undefined,
    );
  return leader;
}

describe("a voter restarted on an empty data folder", () => {
  test("with only one other voter up it refuses to start, so that voter cannot win an election with its vote", async () => {
    cluster = await TestCluster.create({ nodes: 3 });
    const leader = await clusterHoldingValues(cluster);
    const [amnesic, other] = cluster.brokers.filter((b) => b.id !== leader).map((b) => b.id) as [number, number];
    // the leader and the broker that loses its folder go down; what they both held may be on no one else
    await cluster.stop(leader);
    await cluster.stop(amnesic);
    rmSync(cluster.broker(amnesic).dataDir, { recursive: true, force: true });
    cluster.start(amnesic);
    const code = await waitFor(
      `broker ${amnesic} to refuse to start (it would otherwise vote broker ${other} in)`,
      async () => {
        const proc = cluster?.broker(amnesic).proc;
        return proc?.exitCode ?? undefined;
      },
      { timeoutMs: 15_000 },
    );
    expect(code).not.toBe(0);
    expect(cluster.log(amnesic)).toContain("data folder is empty, but the cluster already runs");
    expect(cluster.log(amnesic)).toContain(`only 1 of its 2 other voters answered`);
  });

  test("with the others up it withholds its vote until it holds their log, then serves everything and can be counted on", async () => {
    cluster = await TestCluster.create({ nodes: 3 });
    const leader = await clusterHoldingValues(cluster);
    const amnesic = cluster.brokers.find((b) => b.id !== leader)!.id;
    await cluster.stop(amnesic);
    rmSync(cluster.broker(amnesic).dataDir, { recursive: true, force: true });
    cluster.start(amnesic);
    await waitFor(`broker ${amnesic} to serve every message again`, async () =>
      (await drainRaw(cluster!.broker(amnesic).address, TOPIC)).length === VALUES.length ? true : undefined,
    );
    const log = cluster.log(amnesic);
    expect(log).toContain("The data folder is empty but the cluster already runs");
    expect(log).toContain("will not vote or lead until it holds that log");
    await waitFor(`broker ${amnesic} to vote again`, async () =>
      cluster!.log(amnesic).includes("this broker votes again") ? true : undefined,
    );
    // counted on: with the old leader gone, the other two elect a leader and every message is still there
    await cluster.stop(leader);
    const next = await cluster.waitForLeader(20_000, leader);
    expect(next).not.toBe(leader);
    expect((await drainRaw(cluster.broker(next).address, TOPIC)).map((m) => m.value)).toEqual(VALUES);
  });
});
