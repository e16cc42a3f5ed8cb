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
  test("asked of a follower, the answer is the leader's", async () => {
    cluster = await FakeCluster.start(3);
    cluster.setLeader(3);
    client = await connect({ servers: [cluster.node(1).address] });
    const status = await client.status();
    expect(status.leader).toBe(3);
    expect(status.term).toBe(2);
    expect(status.nodes.map((n) => n.address)).toEqual(cluster.addresses);
    expect(cluster.count("status")).toBe(2);
    expect(Object.keys(status).sort()).toEqual(["leader", "nodes", "term"]);
  });

  test("no leader: one broker's answer, leader 0", async () => {
    cluster = await FakeCluster.start(2);
    cluster.setLeader(0);
    client = await connect({ servers: cluster.addresses });
    expect((await client.status()).leader).toBe(0);
    expect(cluster.count("status")).toBe(1);
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
