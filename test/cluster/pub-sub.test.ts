import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { connect, type MqraftClient, type ReceivedMessage, type Subscription } from "../../src/client/index.ts";
import { requireBinary, runMqraft } from "../support/binary.ts";
import { TestCluster } from "../support/cluster.ts";
import { drainRaw, publishRaw, readRaw } from "../support/raw-client.ts";
import { waitFor } from "../support/wait.ts";

/** The single-node case's own cluster. */
let single: TestCluster | undefined;
/**
 * One three-broker cluster for every other case: each uses topics of its own, and the one that kills the leader runs
 * last. Starting a cluster per case cost more than the cases themselves.
 */
let shared: TestCluster | undefined;
const clients: MqraftClient[] = [];
beforeAll(async () => {
  shared = await TestCluster.create({ nodes: 3 });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
  await single?.destroy();
  single = undefined;
});
afterAll(async () => {
  await shared?.destroy();
});

/** The shared cluster once it has a leader. */
async function three(): Promise<TestCluster> {
  if (shared === undefined) throw new Error("the shared cluster did not start");
  await shared.waitForLeader();
  return shared;
}

async function client(servers: string[]): Promise<MqraftClient> {
  const c = await connect({ servers, timeoutMs: 15_000 });
  clients.push(c);
  return c;
}

const text = (m: ReceivedMessage) => new TextDecoder().decode(m.data);

/** Collects what a subscription yields in the background. */
function collect(subscription: Subscription): ReceivedMessage[] {
  const got: ReceivedMessage[] = [];
  void (async () => {
    for await (const m of subscription) got.push(m);
  })().catch(() => {});
  return got;
}

describe("publish and subscribe on real brokers (the demo's scenarios and beyond)", () => {
  test("single node: one broker, `mqraft sub` receives what `mqraft pub` published", async () => {
    single = await TestCluster.create({ nodes: 1 });
    await single.waitForLeader();
    const server = single.broker(1).address;
    const sub = Bun.spawn(
      [requireBinary(), "sub", "topic1", "--from", "earliest", "--count", "1", "--json", "--server", server],
      {
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    const subOut = new Response(sub.stdout).text();
    const pub = await runMqraft(["pub", "topic1", "Hello, world!", "--json", "--server", server]);
    expect(pub.code).toBe(0);
    expect(JSON.parse(pub.stdout)).toEqual({ topic: "topic1", offset: 0 });
    const timer = setTimeout(() => sub.kill(), 10_000);
    expect(await sub.exited).toBe(0);
    clearTimeout(timer);
    expect(JSON.parse((await subOut).trim())).toEqual({
      topic: "topic1",
      offset: 0,
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      data: "Hello, world!",
    });
  });

  test("three brokers, two subscribers on different brokers: after one unsubscribes it gets nothing more, the other gets everything", async () => {
    const cluster = await three();
    const [a, b, c] = cluster.addresses as [string, string, string];
    const subA = await (await client([a])).subscribe("topic1", { from: "earliest" });
    const subB = await (await client([b])).subscribe("topic1", { from: "earliest" });
    const gotA = collect(subA);
    const gotB = collect(subB);
    const publisher = await client([c]);
    await publisher.publish("topic1", "first");
    await waitFor("both subscribers to get the first message", () =>
      gotA.length === 1 && gotB.length === 1 ? true : undefined,
    );
    await subA.close();
    await publisher.publish("topic1", "second");
    await publisher.publish("topic1", "third");
    await waitFor("subscriber B to get all three", () => (gotB.length === 3 ? true : undefined));
    expect(gotB.map((m) => [m.offset, text(m)])).toEqual([
      [0, "first"],
      [1, "second"],
      [2, "third"],
    ]);
    expect(gotA.map(text)).toEqual(["first"]);
  });

  test("a subscriber that was away resumes from its last offset and gets every message it missed", async () => {
    const cluster = await three();
    const publisher = await client(cluster.addresses);
    for (let i = 0; i < 5; i++) await publisher.publish("missed", `before-${i}`);
    const first = await runMqraft([
      "sub",
      "missed",
      "--from",
      "earliest",
      "--count",
      "5",
      "--json",
      "--server",
      cluster.addresses[1] as string,
    ]);
    expect(first.code).toBe(0);
    const last = JSON.parse(first.stdout.trim().split("\n").at(-1) as string).offset as number;
    for (let i = 0; i < 7; i++) await publisher.publish("missed", `while-away-${i}`);
    const resumed = await runMqraft([
      "sub",
      "missed",
      "--from",
      String(last + 1),
      "--drain",
      "--json",
      "--server",
      cluster.addresses[2] as string,
    ]);
    expect(resumed.code).toBe(0);
    const lines = resumed.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.offset, l.data])).toEqual(
      Array.from({ length: 7 }, (_, i) => [5 + i, `while-away-${i}`]),
    );
  });

  test("a client given only a follower's address publishes and subscribes", async () => {
    const cluster = await three();
    const leader = await cluster.waitForLeader();
    const follower = cluster.brokers.find((b) => b.id !== leader)!.address;
    const c = await client([follower]);
    const sub = await c.subscribe("via-follower", { from: "earliest" });
    const got = collect(sub);
    const acks = await Promise.all(Array.from({ length: 50 }, (_, i) => c.publish("via-follower", `m${i}`)));
    expect(acks.map((a) => a.offset)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    await waitFor("50 messages through the follower", () => (got.length === 50 ? true : undefined));
    expect(got.map(text)).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`));
  });

  test("a durable subscription resumes after its acknowledged position, from another broker", async () => {
    const cluster = await three();
    const publisher = await client(cluster.addresses);
    for (let i = 0; i < 6; i++) await publisher.publish("orders", `order-${i}`);
    const [a, , c] = cluster.addresses as [string, string, string];
    const first = await runMqraft([
      "sub",
      "orders",
      "--durable",
      "billing",
      "--from",
      "earliest",
      "--count",
      "4",
      "--json",
      "--server",
      a,
    ]);
    expect(first.code).toBe(0);
    expect(
      first.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).offset),
    ).toEqual([0, 1, 2, 3]);
    const second = await runMqraft(["sub", "orders", "--durable", "billing", "--count", "2", "--json", "--server", c]);
    expect(second.code).toBe(0);
    expect(
      second.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).data),
    ).toEqual(["order-4", "order-5"]);
  });

  test("one connection's pipelined publishes (no producer id) are stored in the order sent, on every broker", async () => {
    const cluster = await three();
    const leader = await cluster.waitForLeader();
    // without a producer id the broker's seq check cannot put them back in order: the connection's order alone must
    const values = Array.from({ length: 500 }, (_, i) => `in-order-${i}`);
    const acked = await publishRaw(cluster.broker(leader).address, "pipelined", values);
    expect(values.map((v) => acked.get(v))).toEqual(values.map((_, i) => i));
    for (const address of cluster.addresses) {
      const read = await readRaw(address, "pipelined", values.length);
      expect(read.map((m) => m.value)).toEqual(values);
    }
  });

  // last: it kills the shared cluster's leader
  test("the leader killed with -9 during 1,000 pipelined publishes: every acknowledged message is stored exactly once, in one order, on every broker", async () => {
    const cluster = await three();
    const leader = await cluster.waitForLeader();
    const c = await client(cluster.addresses);
    const acked = new Map<string, number>();
    const failed: string[] = [];
    const values = Array.from({ length: 1000 }, (_, i) => `value-${i}`);
    const publishes = values.map((v) =>
      c.publish("failover", v).then(
        (r) => acked.set(v, r.offset),
        () => failed.push(v),
      ),
    );
    await waitFor("some publishes acknowledged before the kill", () => (acked.size >= 100 ? true : undefined));
    await cluster.stop(leader, "SIGKILL");
    await Promise.all(publishes);
    expect(acked.size).toBeGreaterThan(100);
    cluster.start(leader);
    await cluster.waitForLeader();
    // Wait until every broker has applied all that the leader committed, then read each one alone.
    const stored = await waitFor(
      "every broker to hold the same sequence",
      async () => {
        const all = await Promise.all(cluster.addresses.map((a) => drainRaw(a, "failover")));
        return all.every((s) => s.length === all[0]!.length) ? all : undefined;
      },
      { timeoutMs: 20_000 },
    );
    const reference = stored[0]!;
    for (const s of stored) expect(s).toEqual(reference);
    const seen = new Set<string>();
    reference.forEach((m, i) => {
      expect(m.offset).toBe(i);
      expect(seen.has(m.value)).toBe(false);
      seen.add(m.value);
    });
    for (const [value, offset] of acked) expect(reference[offset]?.value).toBe(value);
    for (const value of seen) expect(values).toContain(value);
  });
});
