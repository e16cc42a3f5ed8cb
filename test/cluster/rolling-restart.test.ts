import { afterEach, describe, expect, test } from "bun:test";
import { connect, type MqraftClient } from "../../src/client/index.ts";
import { TestCluster } from "../support/cluster.ts";
import { drainRaw } from "../support/raw-client.ts";
import { waitFor } from "../support/wait.ts";

let cluster: TestCluster | undefined;
let client: MqraftClient | undefined;
afterEach(async () => {
  await client?.close().catch(() => {});
  client = undefined;
  await cluster?.destroy();
  cluster = undefined;
});

describe("rolling restart", () => {
  test("each broker stopped with SIGTERM and restarted in turn under steady publishing: nothing acknowledged is lost", async () => {
    cluster = await TestCluster.create({ nodes: 3, heartbeatMs: 50, electionMs: 500 });
    await cluster.waitForLeader();
    client = await connect({ servers: cluster.addresses, timeoutMs: 20_000 });
    const acked = new Map<string, number>();
    const ackTimes: number[] = [];
    let running = true;
    let n = 0;
    const writer = (async () => {
      while (running) {
        const value = `v${n++}`;
        const r = await client!.publish("rolling", value);
        acked.set(value, r.offset);
        ackTimes.push(performance.now());
      }
    })();
    for (const b of cluster.brokers) {
      const before = acked.size;
      await waitFor("publishes to flow", () => (acked.size >= before + 50 ? true : undefined));
      expect(await cluster.stop(b.id, "SIGTERM")).toBe(0);
      cluster.start(b.id);
      await cluster.waitForLeader();
    }
    const last = acked.size;
    await waitFor("publishes to flow after the last restart", () => (acked.size >= last + 50 ? true : undefined));
    running = false;
    await writer;
    let stall = 0;
    for (let i = 1; i < ackTimes.length; i++)
      stall = Math.max(stall, (ackTimes[i] as number) - (ackTimes[i - 1] as number));
    console.log(`rolling restart: ${acked.size} publishes acknowledged, longest stall ${stall.toFixed(0)} ms`);
    for (const b of cluster.brokers) {
      const stored = await waitFor(`broker ${b.id} to hold every acknowledged message`, async () => {
        const got = await drainRaw(b.address, "rolling");
        return got.length >= acked.size ? got : undefined;
      });
      for (const [value, offset] of acked) expect(stored[offset]?.value).toBe(value);
      expect(new Set(stored.map((m) => m.value)).size).toBe(stored.length);
    }
    expect(cluster.log(1) + cluster.log(2) + cluster.log(3)).toContain("Stopping: handing leadership to");
  }, 60_000);
});
