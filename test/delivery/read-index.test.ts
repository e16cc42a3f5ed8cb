import { afterEach, describe, expect, test } from "bun:test";
import { connect, type MqraftClient } from "../../src/client/index.ts";
import type { ClientInbound } from "../../src/wire/index.ts";
import { TestCluster } from "../support/cluster.ts";
import { waitFor } from "../support/wait.ts";
import { openClient } from "../support/wire-probe.ts";

let cluster: TestCluster | undefined;
const clients: MqraftClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
  for (const b of cluster?.brokers ?? []) b.proc?.kill("SIGCONT");
  await cluster?.destroy();
  cluster = undefined;
});

type Subscribed = Extract<ClientInbound, { type: "subscribed" }>;

/** Subscribes `topic` on the broker at `address` over a raw connection and returns its answer. */
async function subscribeRaw(address: string, topic: string, from: "earliest" | "latest"): Promise<Subscribed> {
  const { connection, received } = await openClient(address);
  try {
    connection.send({ type: "subscribe", id: 1, topics: [topic], from });
    return await waitFor(
      `the answer to subscribe from ${address}`,
      () => {
        const answer = received.find((m) => m.type === "subscribed" || m.type === "error");
        if (answer?.type === "error") throw new Error(`${answer.code}: ${answer.message}`);
        return answer?.type === "subscribed" ? answer : undefined;
      },
      { timeoutMs: 20_000 },
    );
  } finally {
    connection.close();
  }
}

describe("--drain and --from latest mean the cluster's commit, not what the serving broker has applied", () => {
  test("a follower that was paused while 5,000 publishes were acknowledged answers with the leader's ends", async () => {
    cluster = await TestCluster.create({ nodes: 3 });
    const leader = await cluster.waitForLeader();
    const follower = cluster.brokers.find((b) => b.id !== leader)!;
    const c = await connect({ servers: [cluster.broker(leader).address], timeoutMs: 20_000 });
    clients.push(c);
    await c.publish("t", "before");
    follower.proc!.kill("SIGSTOP");
    const payload = "x".repeat(1024);
    await Promise.all(Array.from({ length: 5_000 }, (_, i) => c.publish("t", `${i} ${payload}`)));
    follower.proc!.kill("SIGCONT");
    const drained = await subscribeRaw(follower.address, "t", "earliest");
    const latest = await subscribeRaw(follower.address, "t", "latest");
    expect({ ends: drained.ends, latest: latest.positions }).toEqual({ ends: [["t", 5_001]], latest: [["t", 5_001]] });
  });
});
