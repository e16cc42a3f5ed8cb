import { afterEach, expect, test } from "bun:test";
import { runMqraft } from "../support/binary.ts";
import type { TestCluster } from "../support/cluster.ts";
import { drainRaw, publishRaw } from "../support/raw-client.ts";
import { clusterOnSmallDisks, DISK_KINDS, SmallDisks } from "../support/small-disk.ts";
import { waitFor } from "../support/wait.ts";
import { probeStatus } from "../support/wire-probe.ts";

const MIB = 1024 * 1024;
let cluster: TestCluster | undefined;
let disks: SmallDisks | undefined;

afterEach(async () => {
  await cluster?.destroy().catch(() => undefined);
  cluster = undefined;
  disks?.cleanup();
});

/** Who broker `id` says leads, once it says it leads itself (or another says so). */
async function leaderSeenBy(c: TestCluster, id: number): Promise<number> {
  return (await probeStatus(c.broker(id).address, 500))?.leader ?? 0;
}

test.each(DISK_KINDS)(
  "a leader whose disk fills hands leadership to a broker with room, and publishing goes on there; the full one declines to take it back (%s)",
  async (kind) => {
    const small = new SmallDisks(kind);
    disks = small;
    cluster = await clusterOnSmallDisks(small, { nodes: 3, argsFor: () => ["--min-free-space", "8MiB"] });
    const full = cluster.broker(1);
    small.give(full.dataDir, 24 * MIB);
    for (const b of cluster.brokers) cluster.start(b.id);
    const first = await cluster.waitForLeader();
    if (first !== 1) {
      const moved = await runMqraft(["leader", "--transfer-to", "1", "--server", cluster.broker(first).address]);
      expect({ code: moved.code, stderr: moved.stderr }).toEqual({ code: 0, stderr: "" });
    }
    await waitFor("broker 1 to lead", async () =>
      (await leaderSeenBy(cluster as TestCluster, 1)) === 1 ? true : undefined,
    );
    const before = await publishRaw(full.address, "t", ["before"]);
    expect([...before]).toEqual([["before", 0]]);

    // another process fills broker 1's disk to 4 MiB free, below its 8 MiB minimum
    small.fillTo(full.dataDir, 4 * MIB);

    const next = await cluster.waitForLeader(10_000, 1);
    expect(next).not.toBe(1);
    expect(cluster.log(1)).toContain(
      `Disk alarm: handing leadership to broker ${next} (${cluster.broker(next).address})`,
    );
    const after = await publishRaw(cluster.broker(next).address, "t", ["after"]);
    expect([...after]).toEqual([["after", 1]]);

    // asked to lead again while its alarm is raised, broker 1 declines: the leader stays where there is room
    const back = await runMqraft([
      "leader",
      "--transfer-to",
      "1",
      "--server",
      cluster.broker(next).address,
      "--timeout",
      "3",
    ]);
    expect(back.code).not.toBe(0);
    expect(cluster.log(1)).toContain(`Declining leadership from node ${next}: this broker's disk alarm is raised`);
    expect(await leaderSeenBy(cluster, 2)).toBe(next);

    // space freed: the alarm clears, and broker 1 serves everything (it kept appending as a follower)
    small.clear(full.dataDir);
    await waitFor("broker 1's alarm to clear", async () => {
      const own = (await probeStatus(full.address, 500))?.nodes.find((n) => n.id === 1);
      return own?.diskAlarm === false ? true : undefined;
    });
    const served = await drainRaw(full.address, "t");
    expect(served.map((m) => [m.value, m.offset])).toEqual([
      ["before", 0],
      ["after", 1],
    ]);
  },
  90_000,
);
