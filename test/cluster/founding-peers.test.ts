import { afterEach, expect, test } from "bun:test";
import { connect } from "../../src/client/index.ts";
import { TestCluster } from "../support/cluster.ts";
import { waitFor } from "../support/wait.ts";
import { probeStatus } from "../support/wire-probe.ts";

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.destroy();
  cluster = undefined;
});

test("a broker founded with other --peers than the rest is refused by them with a clear error, and the rest serve", async () => {
  // The same socket under another name: written into broker 3's log, its founding entries would differ from the others'.
  cluster = await TestCluster.create({
    nodes: 3,
    peersFor: (id, peers) => (id === 3 ? peers.replace("1=127.0.0.1:", "1=localhost:") : peers),
  });
  const leader = await cluster.waitForLeader();
  expect(leader).not.toBe(3);
  const c = await connect({ servers: [cluster.broker(1).address, cluster.broker(2).address] });
  expect((await c.publish("t", "served")).offset).toBe(0);
  await c.close();
  await waitFor("broker 3's log to name the refusal", () =>
    cluster!.log(3).includes("every founding broker needs the same --peers") ? true : undefined,
  );
  expect(cluster.log(3)).toContain(`this broker with --peers 1=127.0.0.1:${cluster.broker(1).port},`);
  // Said once per peer, not at every retry.
  expect(
    cluster
      .log(3)
      .split("\n")
      .filter((line) => line.includes("refused this broker")).length,
  ).toBe(2);
  const view = await probeStatus(cluster.broker(3).address);
  expect(view?.leader).toBe(0);
});
