import { afterEach, describe, expect, test } from "bun:test";
import { connect, type MqraftClient } from "../../src/client/index.ts";
import { isMqraftError } from "../../src/util/errors.ts";
import { freePorts } from "../support/ports.ts";
import { waitFor } from "../support/wait.ts";
import { FakeCluster, fakeManager } from "./fake-cluster.ts";

let cluster: FakeCluster | undefined;
let client: MqraftClient | undefined;

afterEach(async () => {
  await client?.close();
  cluster?.stop();
  client = undefined;
  cluster = undefined;
});

function offsetsInOrder(results: { offset: number }[]): number[] {
  return results.map((r) => r.offset);
}

const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i);

describe("publish", () => {
  test("10,000 pipelined publishes get offsets 0..9999 in order, never more than the window in flight", async () => {
    cluster = await FakeCluster.start(1);
    cluster.commitDelayMs = 2;
    client = await connect({ servers: cluster.addresses, window: 1000 });
    const settledOrder: number[] = [];
    const results = await Promise.all(
      range(10_000).map((i) =>
        client!.publish("t", `message ${i}`).then((r) => {
          settledOrder.push(i);
          return r;
        }),
      ),
    );
    expect(offsetsInOrder(results)).toEqual(range(10_000));
    expect(settledOrder).toEqual(range(10_000));
    expect(cluster.maxOutstanding).toBeLessThanOrEqual(1000);
    // pipelining actually happened: with 2 ms per commit, one at a time would take 20 s
    expect(cluster.maxOutstanding).toBeGreaterThan(500);
    expect(new TextDecoder().decode(cluster.log.get("t")?.[9999])).toBe("message 9999");
  });

  test("a client given only a follower finds the leader, and follows NOT_LEADER when leadership moves", async () => {
    cluster = await FakeCluster.start(3);
    cluster.setLeader(3);
    client = await connect({ servers: [cluster.node(1).address] });
    expect(await client.publish("t", "a")).toEqual({ topic: "t", offset: 0 });
    cluster.setLeader(2);
    const results = await Promise.all(range(50).map((i) => client!.publish("t", `b${i}`)));
    expect(offsetsInOrder(results)).toEqual(range(50, 1));
    expect(cluster.log.get("t")?.length).toBe(51);
    // node 3 refused at least the first publish after the move: the redirect was exercised
    expect(cluster.count("publish")).toBeGreaterThan(51);
  });

  test("a manager's address leads to the brokers", async () => {
    cluster = await FakeCluster.start(3);
    cluster.setLeader(2);
    const manager = fakeManager(cluster);
    try {
      client = await connect({ servers: [`127.0.0.1:${manager.port}`] });
      expect(await client.publish("t", "x")).toEqual({ topic: "t", offset: 0 });
    } finally {
      manager.stop();
    }
  });

  test("when the leader's connection drops mid-stream, unacknowledged publishes are resent with the same (producer, seq) and stored once", async () => {
    cluster = await FakeCluster.start(3);
    // the leader stores everything but answers only the first 1,500, then its connections drop and node 2 takes over
    cluster.node(1).answerLimit = 1500;
    client = await connect({ servers: cluster.addresses, window: 1000 });
    const acks = new Map<number, number>();
    const all = Promise.all(
      range(5000).map((i) =>
        client!.publish("t", `m${i}`).then((r) => {
          expect(acks.has(i)).toBe(false);
          acks.set(i, r.offset);
          return r;
        }),
      ),
    );
    await waitFor("the leader to store 2,500 publishes, 1,000 of them unanswered", () =>
      cluster!.nextOffset("t") >= 2500 ? true : undefined,
    );
    cluster.setLeader(2);
    cluster.dropConnections(1);
    const results = await all;
    expect(offsetsInOrder(results)).toEqual(range(5000));
    expect(acks.size).toBe(5000);
    expect(cluster.nextOffset("t")).toBe(5000);
    // the 1,000 stored-but-unanswered ones came back as retries and were recognised
    expect(cluster.duplicates).toBeGreaterThanOrEqual(1000);
    const stored = cluster.log.get("t")!.map((d) => new TextDecoder().decode(d));
    expect(stored).toEqual(range(5000).map((i) => `m${i}`));
  });

  test("a leader that goes down: publishes continue on the new leader", async () => {
    cluster = await FakeCluster.start(3);
    client = await connect({ servers: cluster.addresses });
    expect((await client.publish("t", "before")).offset).toBe(0);
    cluster.kill(1);
    cluster.setLeader(3);
    expect((await client.publish("t", "after")).offset).toBe(1);
  });

  test("no leader: a publish fails with NO_LEADER once its timeout has passed", async () => {
    cluster = await FakeCluster.start(3);
    cluster.setLeader(0);
    // long enough to reach a broker on a loaded machine (at 300 ms a landing at load 20 ran out before any answer)
    client = await connect({ servers: cluster.addresses, timeoutMs: 1_000 });
    const error = await client.publish("t", "x").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isMqraftError(error, "NO_LEADER")).toBe(true);
    expect((error as Error).message).toContain("not the leader");
    // it kept asking until the timeout instead of giving up at the first refusal (registering its producer first)
    expect(cluster.count("publish") + cluster.count("register")).toBeGreaterThanOrEqual(3);
    expect(cluster.nextOffset("t")).toBe(0);
  });

  test("brokers that name each other as leader: the client backs off instead of spinning, then fails NO_LEADER", async () => {
    cluster = await FakeCluster.start(2);
    cluster.setLeader(0);
    cluster.node(1).believes = 2;
    cluster.node(2).believes = 1;
    client = await connect({ servers: cluster.addresses, timeoutMs: 500 });
    const error = await client.publish("t", "x").catch((e: unknown) => e);
    expect(isMqraftError(error, "NO_LEADER")).toBe(true);
    // each refusal is followed at once only a few times in a row, then with pauses growing to 0.5 s
    expect(cluster.count("publish")).toBeLessThan(40);
    expect(cluster.count("hello")).toBeLessThan(80);
  });

  test("a leader elected while a publish waits: the publish succeeds", async () => {
    cluster = await FakeCluster.start(3);
    cluster.setLeader(0);
    client = await connect({ servers: cluster.addresses, timeoutMs: 5000 });
    const pending = client.publish("t", "x");
    // the client registers its producer before its first publish: that request is the one refused
    await waitFor("the client to be refused at least twice", () =>
      cluster!.count("publish") + cluster!.count("register") >= 2 ? true : undefined,
    );
    cluster.setLeader(3);
    expect(await pending).toEqual({ topic: "t", offset: 0 });
  });

  test("a leader that never answers: TIMEOUT", async () => {
    cluster = await FakeCluster.start(1);
    cluster.node(1).answerLimit = 0;
    client = await connect({ servers: cluster.addresses, timeoutMs: 300 });
    const error = await client.publish("t", "x").catch((e: unknown) => e);
    expect(isMqraftError(error, "TIMEOUT")).toBe(true);
  });

  test("an invalid topic is refused before anything is sent", async () => {
    cluster = await FakeCluster.start(1);
    client = await connect({ servers: cluster.addresses });
    const error = await client.publish("bad topic", "x").catch((e: unknown) => e);
    expect(isMqraftError(error, "BAD_USAGE")).toBe(true);
    expect((error as Error).message).toContain('"bad topic"');
    expect(cluster.count("publish")).toBe(0);
  });

  test("a message over the broker's announced frame limit fails alone; the others go through", async () => {
    cluster = await FakeCluster.start(1);
    cluster.maxFrameBytes = 1024;
    client = await connect({ servers: cluster.addresses });
    const [before, big, after] = await Promise.allSettled([
      client.publish("t", "small"),
      client.publish("t", new Uint8Array(2000)),
      client.publish("t", "small too"),
    ]);
    expect(before).toEqual({ status: "fulfilled", value: { topic: "t", offset: 0 } });
    expect(big.status === "rejected" && isMqraftError(big.reason, "FRAME_TOO_LARGE")).toBe(true);
    expect(after).toEqual({ status: "fulfilled", value: { topic: "t", offset: 1 } });
    expect(cluster.count("publish")).toBe(2);
  });

  test("close() fails publishes still waiting with CONNECTION_CLOSED", async () => {
    cluster = await FakeCluster.start(1);
    cluster.node(1).answerLimit = 0;
    client = await connect({ servers: cluster.addresses });
    const pending = client.publish("t", "x").catch((e: unknown) => e);
    await waitFor("the publish to reach the broker", () => (cluster!.count("publish") === 1 ? true : undefined));
    await client.close();
    expect(isMqraftError(await pending, "CONNECTION_CLOSED")).toBe(true);
  });
});

describe("connect", () => {
  test("nobody listening at any address: UNAVAILABLE naming the addresses", async () => {
    const [port] = await freePorts(1);
    const error = await connect({ servers: [`127.0.0.1:${port}`], timeoutMs: 300 }).catch((e: unknown) => e);
    expect(isMqraftError(error, "UNAVAILABLE")).toBe(true);
    expect((error as Error).message).toContain(`127.0.0.1:${port}`);
  });

  test("a bad option is BAD_USAGE naming it", async () => {
    const error = await connect({ servers: ["nonsense"] }).catch((e: unknown) => e);
    expect(isMqraftError(error, "BAD_USAGE")).toBe(true);
    expect((error as Error).message).toContain("servers");
  });
});
