import { afterEach, describe, expect, test } from "bun:test";
import { connect, type MqraftClient } from "../../src/client/index.ts";
import { FakeCluster } from "./fake-cluster.ts";

let cluster: FakeCluster | undefined;
let client: MqraftClient | undefined;

afterEach(async () => {
  await client?.close();
  cluster?.stop();
  client = undefined;
  cluster = undefined;
});

describe("status", () => {
  test("asked of a follower: every member is asked for itself, and the leader is the one that says it leads", async () => {
    cluster = await FakeCluster.start(3);
    cluster.setLeader(3);
    client = await connect({ servers: [cluster.node(1).address] });
    const status = await client.status();
    expect(status.leader).toBe(3);
    expect(status.term).toBe(2);
    expect(status.nodes.map((n) => n.address)).toEqual(cluster.addresses);
    // the first contact, then each of the three members
    expect(cluster.count("status")).toBe(4);
    expect(Object.keys(status).sort()).toEqual(["leader", "nodes", "term"]);
  });

  test("no leader: leader null", async () => {
    cluster = await FakeCluster.start(2);
    cluster.setLeader(0);
    client = await connect({ servers: cluster.addresses });
    expect((await client.status()).leader).toBe(null);
    expect(cluster.count("status")).toBe(3);
  });

  test("the first server down: the next one answers", async () => {
    cluster = await FakeCluster.start(3);
    client = await connect({ servers: cluster.addresses });
    cluster.kill(1);
    cluster.setLeader(2);
    const status = await client.status();
    expect(status.leader).toBe(2);
    expect(status.nodes.find((n) => n.id === 1)?.reachable).toBe(false);
  });
});
