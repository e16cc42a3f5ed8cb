import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { connect, type MqraftClient } from "../../src/client/index.ts";
import { runMqraft } from "../support/binary.ts";
import { TestCluster } from "../support/cluster.ts";
import { freePorts } from "../support/ports.ts";
import { drainRaw, publishRaw } from "../support/raw-client.ts";
import { waitFor } from "../support/wait.ts";
import { probeStatus } from "../support/wire-probe.ts";

let cluster: TestCluster | undefined;
const clients: MqraftClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
  await cluster?.destroy();
  cluster = undefined;
});

async function client(servers: string[]): Promise<MqraftClient> {
  const c = await connect({ servers, timeoutMs: 20_000 });
  clients.push(c);
  return c;
}

/** Waits until the leader's status lists `id` as a reachable voter. */
async function waitForVoter(c: TestCluster, id: number): Promise<void> {
  await waitFor(
    `node ${id} to be a reachable voter`,
    async () => {
      const leader = await c.waitForLeader();
      const s = await probeStatus(c.broker(leader).address);
      return s?.nodes.some((n) => n.id === id && n.voter && n.reachable) ? true : undefined;
    },
    { timeoutMs: 20_000 },
  );
}

describe("dynamic membership: join, leave, rejoin", () => {
  test("two brokers join a cluster holding 1,000 messages, serve all of them, and keep it available when two originals die", async () => {
    cluster = await TestCluster.create({ nodes: 3 });
    const leader = await cluster.waitForLeader();
    const values = Array.from({ length: 1000 }, (_, i) => `m${i}`);
    await publishRaw(cluster.broker(leader).address, "history", values);
    const joiners = [await cluster.addJoiner(4), await cluster.addJoiner(5)];
    for (const j of joiners) await waitForVoter(cluster, j.id);
    for (const j of joiners) {
      // A voter may still be applying what it holds: wait until it serves the whole topic, then check every value.
      const got = await waitFor(
        `node ${j.id} to serve all ${values.length} messages`,
        async () => {
          const drained = await drainRaw(j.address, "history");
          return drained.length >= values.length ? drained : undefined;
        },
        { timeoutMs: 20_000 },
      );
      expect(got.map((m) => m.value)).toEqual(values);
      expect(cluster.log(j.id)).toContain("Joined the cluster as node");
    }
    expect(cluster.log(await cluster.waitForLeader())).toContain("Sync data with peer");
    const originals = [1, 2, 3].filter((id) => id !== leader).slice(0, 2);
    for (const id of originals) await cluster.stop(id, "SIGKILL");
    const c = await client(cluster.running().map((b) => b.address));
    const ack = await c.publish("history", "after two of five died");
    expect(ack.offset).toBe(1000);
  }, 60_000);

  test("a duplicate id is refused with a clear error and exit 1", async () => {
    cluster = await TestCluster.create({ nodes: 3 });
    await cluster.waitForLeader();
    const [port] = await freePorts(1);
    const dup = await runMqraft(
      [
        "join",
        "--id",
        "2",
        "--port",
        String(port),
        "--data",
        join(cluster.dir, "dup"),
        "--server",
        cluster.addresses.join(","),
      ],
      { timeoutMs: 20_000 },
    );
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain("node 2 is already a member of this cluster");
  });

  test("leave and rejoin of the same id with its old data folder; leave of the leader", async () => {
    cluster = await TestCluster.create({ nodes: 3 });
    const joiner = await cluster.addJoiner(4);
    await waitForVoter(cluster, 4);
    const servers = cluster.brokers
      .filter((b) => b.id !== 4)
      .map((b) => b.address)
      .join(",");
    const left = await runMqraft(["leave", "--id", "4", "--server", servers]);
    expect(left.code).toBe(0);
    // it stops once no voter asks for its vote: within a few election timeouts (membership-duties.ts)
    expect(await cluster.exitOf(4)).toBe(0);
    expect(cluster.log(4)).toContain("Removed from the cluster");

    cluster.start(4);
    await waitForVoter(cluster, 4);
    const c = await client(cluster.addresses);
    await c.publish("rejoined", "hello again");
    expect((await drainRaw(joiner.address, "rejoined")).map((m) => m.value)).toEqual(["hello again"]);

    const leader = await cluster.waitForLeader();
    const leaderLeft = await runMqraft(["leave", "--id", String(leader), "--server", cluster.broker(leader).address]);
    expect(leaderLeft.code).toBe(0);
    expect(await cluster.exitOf(leader)).toBe(0);
    const next = await cluster.waitForLeader(10_000, leader);
    expect(next).not.toBe(leader);
    expect((await c.publish("rejoined", "after the leader left")).offset).toBe(1);
  });

  test("leadership transfer on request, and a leave that would leave no reachable majority is refused", async () => {
    cluster = await TestCluster.create({ nodes: 3 });
    const leader = await cluster.waitForLeader();
    const target = [1, 2, 3].find((id) => id !== leader) as number;
    const moved = await runMqraft(["leader", "--transfer-to", String(target), "--server", cluster.addresses.join(",")]);
    expect(moved.code).toBe(0);
    expect(await cluster.waitForLeader()).toBe(target);
    const third = [1, 2, 3].find((id) => id !== leader && id !== target) as number;
    await cluster.stop(third, "SIGKILL");
    await waitFor(`the leader to see node ${third} as unreachable`, async () => {
      const s = await probeStatus(cluster!.broker(target).address);
      return s?.nodes.some((n) => n.id === third && !n.reachable) ? true : undefined;
    });
    const refused = await runMqraft(["leave", "--id", String(leader), "--server", cluster.broker(target).address]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("majority");
  });

  test("a dead member stays a member, shown unreachable, unless --remove-dead-after asks for its removal", async () => {
    cluster = await TestCluster.create({ nodes: 3, argsFor: () => ["--remove-dead-after", "1500ms"] });
    const leader = await cluster.waitForLeader();
    const dead = [1, 2, 3].find((id) => id !== leader) as number;
    await cluster.stop(dead, "SIGKILL");
    const seen = await waitFor(`node ${dead} shown unreachable`, async () => {
      const s = await probeStatus(cluster!.broker(leader).address);
      return s?.nodes.find((n) => n.id === dead && !n.reachable);
    });
    expect(seen.voter).toBe(true);
    await waitFor(`node ${dead} removed after 1.5 s unreachable`, async () => {
      const s = await probeStatus(cluster!.broker(leader).address);
      return s !== undefined && !s.nodes.some((n) => n.id === dead) ? true : undefined;
    });
    expect(cluster.log(leader)).toContain(`Node leave the cluster: ${cluster.broker(dead).address}`);
    const c = await client(cluster.running().map((b) => b.address));
    expect((await c.publish("after-removal", "two voters left")).offset).toBe(0);
  });
});
