import { afterEach, describe, expect, test } from "bun:test";
import { TestCluster } from "../support/cluster.ts";
import { publishRaw, readRaw } from "../support/raw-client.ts";
import { waitFor } from "../support/wait.ts";
import { probeStatus } from "../support/wire-probe.ts";

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.destroy();
  cluster = undefined;
});

describe("log compaction and snapshot catch-up", () => {
  test("a follower that missed compacted entries gets a snapshot plus the retained messages, and serves them like the leader", async () => {
    // Small batches and frequent snapshots, so the leader compacts its log while broker 3 is away.
    cluster = await TestCluster.create({
      nodes: 3,
      argsFor: () => ["--snapshot-every", "5", "--retain-messages", "300", "--segment-bytes", "4KiB"],
    });
    const leader = await cluster.waitForLeader();
    const lagging = cluster.brokers.map((b) => b.id).find((id) => id !== leader) as number;
    await cluster.stop(lagging, "SIGKILL");
    const address = cluster.broker(leader).address;
    const values: string[] = [];
    for (let round = 0; round < 40; round++) {
      const batch = Array.from({ length: 25 }, (_, i) => `r${round}-m${i}`);
      await publishRaw(address, "compacted", batch);
      values.push(...batch);
    }
    const leaderView = await waitFor("the leader to compact its log", async () => {
      const s = await probeStatus(address);
      return s !== undefined && /the log now starts at [1-9]\d+/.test(cluster!.log(leader)) ? s : undefined;
    });
    expect(leaderView.leader).toBe(leader);

    cluster.start(lagging);
    await waitFor(`broker ${lagging} to install a snapshot`, () =>
      cluster!.log(lagging).includes("installed the leader's snapshot") ? true : undefined,
    );
    const retained = values.slice(-300);
    const fromLeader = await readRaw(address, "compacted", retained.length);
    const fromFollower = await readRaw(cluster.broker(lagging).address, "compacted", retained.length);
    expect(fromLeader.map((m) => m.value)).toEqual(retained);
    expect(fromFollower).toEqual(fromLeader);
    expect(fromFollower[0]?.offset).toBe(values.length - 300);
  });
});
