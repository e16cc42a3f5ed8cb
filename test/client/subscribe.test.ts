import { afterEach, describe, expect, test } from "bun:test";
import { connect, type MqraftClient, type ReceivedMessage, type Subscription } from "../../src/client/index.ts";
import { isMqraftError } from "../../src/util/errors.ts";
import { waitFor } from "../support/wait.ts";
import { FakeCluster } from "./fake-cluster.ts";

let cluster: FakeCluster | undefined;
let client: MqraftClient | undefined;

afterEach(async () => {
  await client?.close();
  cluster?.stop();
  client = undefined;
  cluster = undefined;
});

const text = (m: ReceivedMessage): string => new TextDecoder().decode(m.data);
const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i);

function fill(c: FakeCluster, topic: string, count: number): void {
  const from = c.nextOffset(topic);
  for (let i = 0; i < count; i++) c.store(topic, new TextEncoder().encode(`${topic}-${from + i}`));
}

/** Takes `count` messages within `timeoutMs`, failing with what came if the stream ends or stalls first. */
async function take(
  subscription: Subscription,
  count: number,
  each?: (m: ReceivedMessage, i: number) => Promise<void> | void,
  timeoutMs = 5_000,
): Promise<ReceivedMessage[]> {
  const got: ReceivedMessage[] = [];
  const deadline = performance.now() + timeoutMs;
  const came = (): string =>
    `${got.length} of ${count} messages came (last ${got.at(-1)?.topic} #${got.at(-1)?.offset})`;
  while (got.length < count) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stalled = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`stream stalled: ${came()}`)),
        Math.max(0, deadline - performance.now()),
      );
    });
    const next = await Promise.race([subscription.next(), stalled]).finally(() => clearTimeout(timer));
    if (next.done) throw new Error(`stream ended: ${came()}`);
    got.push(next.value);
    await each?.(next.value, got.length - 1);
  }
  return got;
}

describe("subscribe", () => {
  test("from earliest: the stored messages in order, then live ones", async () => {
    cluster = await FakeCluster.start(1);
    fill(cluster, "t", 3);
    client = await connect({ servers: cluster.addresses });
    const subscription = await client.subscribe("t", { from: "earliest" });
    expect(subscription.positions).toEqual({ t: 0 });
    expect(subscription.ends).toEqual({ t: 3 });
    await client.publish("t", "live");
    const got = await take(subscription, 4);
    expect(got.map((m) => [m.topic, m.offset, text(m)])).toEqual([
      ["t", 0, "t-0"],
      ["t", 1, "t-1"],
      ["t", 2, "t-2"],
      ["t", 3, "live"],
    ]);
  });

  test("from latest: only what is published afterwards", async () => {
    cluster = await FakeCluster.start(1);
    fill(cluster, "t", 5);
    client = await connect({ servers: cluster.addresses });
    const subscription = await client.subscribe("t");
    await client.publish("t", "new");
    const [first] = await take(subscription, 1);
    expect(first?.offset).toBe(5);
  });

  test("a dropped connection resumes on another broker after the last offset: no loss, no duplicate", async () => {
    cluster = await FakeCluster.start(3);
    fill(cluster, "a", 1500);
    fill(cluster, "b", 700);
    client = await connect({ servers: cluster.addresses });
    const subscription = await client.subscribe(["a", "b"], { from: "earliest", bufferMessages: 100 });
    const seen = new Map<string, number[]>([
      ["a", []],
      ["b", []],
    ]);
    const record = (m: ReceivedMessage): void => {
      seen.get(m.topic)!.push(m.offset);
      expect(text(m)).toBe(`${m.topic}-${m.offset}`);
    };
    for (const m of await take(subscription, 600)) record(m);
    // the broker serving the stream goes down while messages are still queued for it, and new ones keep coming
    expect(cluster.node(1).sessions.size).toBe(1);
    cluster.kill(1);
    cluster.setLeader(2);
    const more = Promise.all(range(300).map((i) => client!.publish(i % 2 === 0 ? "a" : "b", `live${i}`)));
    for (const m of await take(subscription, 1500 + 700 + 300 - 600)) {
      seen.get(m.topic)!.push(m.offset);
    }
    await more;
    expect(seen.get("a")).toEqual(range(1650));
    expect(seen.get("b")).toEqual(range(850));
  });

  test("a stream from latest resumes after its last offset, not at the end of the log", async () => {
    cluster = await FakeCluster.start(2);
    fill(cluster, "t", 10);
    client = await connect({ servers: cluster.addresses });
    const subscription = await client.subscribe("t", { from: "latest" });
    fill(cluster, "t", 5);
    expect((await take(subscription, 5)).map((m) => m.offset)).toEqual(range(5, 10));
    cluster.kill(1);
    // published while no broker serves the stream: a resume "from latest" would skip them
    fill(cluster, "t", 5);
    cluster.setLeader(2);
    expect((await take(subscription, 5)).map((m) => m.offset)).toEqual(range(5, 15));
  });

  test("repeated drops while a fast consumer reads: every offset exactly once", async () => {
    cluster = await FakeCluster.start(2);
    fill(cluster, "t", 3000);
    client = await connect({ servers: cluster.addresses });
    const subscription = await client.subscribe("t", { from: "earliest", bufferMessages: 50 });
    const offsets = (
      await take(subscription, 3000, (_, i) => {
        if (i % 700 === 350) cluster!.dropConnections(1 + (((i / 700) | 0) % 2));
      })
    ).map((m) => m.offset);
    expect(offsets).toEqual(range(3000));
    expect(cluster.count("subscribe")).toBe(5);
  });

  test("a slow consumer: at most `bufferMessages` wait in the client, the rest stays behind TCP flow control", async () => {
    cluster = await FakeCluster.start(1);
    fill(cluster, "t", 5000);
    client = await connect({ servers: cluster.addresses });
    const subscription = await client.subscribe("t", { from: "earliest", bufferMessages: 100 });
    let most = 0;
    const got = await take(subscription, 5000, async (_, i) => {
      most = Math.max(most, subscription.buffered);
      // the consumer stops until half the buffer has filled behind it (a condition, not a sleep)
      if (i % 500 === 0)
        await waitFor(
          `the buffer to fill behind message ${i}`,
          () => (subscription.buffered >= 50 ? true : undefined),
          {
            intervalMs: 1,
          },
        );
      most = Math.max(most, subscription.buffered);
    });
    expect(got.map((m) => m.offset)).toEqual(range(5000));
    expect(most).toBeLessThanOrEqual(100);
    expect(most).toBeGreaterThanOrEqual(50);
  });

  test("drain: ends after everything committed when it started, and nothing later", async () => {
    cluster = await FakeCluster.start(1);
    fill(cluster, "a", 100);
    fill(cluster, "b", 50);
    client = await connect({ servers: cluster.addresses });
    const subscription = await client.subscribe(["a", "b", "empty"], { from: "earliest", drain: true });
    expect(subscription.ends).toEqual({ a: 100, b: 50, empty: 0 });
    await client.publish("a", "after");
    const got: ReceivedMessage[] = [];
    for await (const m of subscription) got.push(m);
    expect(got.filter((m) => m.topic === "a").map((m) => m.offset)).toEqual(range(100));
    expect(got.filter((m) => m.topic === "b").map((m) => m.offset)).toEqual(range(50));
    await waitFor("the drained stream to be unsubscribed", () =>
      cluster!.count("unsubscribe") === 1 ? true : undefined,
    );
  });

  test("drain with nothing to read ends at once", async () => {
    cluster = await FakeCluster.start(1);
    fill(cluster, "t", 10);
    client = await connect({ servers: cluster.addresses });
    const subscription = await client.subscribe("t", { from: "latest", drain: true });
    expect(await subscription.next()).toEqual({ value: undefined, done: true });
  });

  test("breaking out of for-await unsubscribes", async () => {
    cluster = await FakeCluster.start(1);
    fill(cluster, "t", 10);
    client = await connect({ servers: cluster.addresses });
    const subscription = await client.subscribe("t", { from: "earliest" });
    let n = 0;
    for await (const _ of subscription) if (++n === 3) break;
    expect(cluster.count("unsubscribe")).toBe(1);
    expect(await subscription.next()).toEqual({ value: undefined, done: true });
  });

  test("no broker comes back: the stream fails with UNAVAILABLE after the resume timeout", async () => {
    cluster = await FakeCluster.start(1);
    fill(cluster, "t", 2);
    client = await connect({ servers: cluster.addresses, resumeTimeoutMs: 300 });
    const subscription = await client.subscribe("t", { from: "earliest" });
    await take(subscription, 2);
    cluster.kill(1);
    const error = await subscription.next().catch((e: unknown) => e);
    expect(isMqraftError(error, "UNAVAILABLE")).toBe(true);
    expect((error as Error).message).toContain("not resumed");
  });

  test("an invalid topic is BAD_USAGE", async () => {
    cluster = await FakeCluster.start(1);
    client = await connect({ servers: cluster.addresses });
    const error = await client.subscribe(["ok", "not ok"]).catch((e: unknown) => e);
    expect(isMqraftError(error, "BAD_USAGE")).toBe(true);
    expect((error as Error).message).toContain('"not ok"');
  });
});

describe("durable subscriptions", () => {
  test("started on a follower it moves to the leader; acks make the next subscriber start after them", async () => {
    cluster = await FakeCluster.start(3);
    cluster.setLeader(3);
    fill(cluster, "t", 10);
    client = await connect({ servers: [cluster.node(1).address, cluster.node(2).address] });
    const first = await client.subscribe("t", { from: "earliest", durable: "worker" });
    const got = await take(first, 5);
    await Promise.all(got.map((m) => first.ack(m)));
    expect(cluster.durables.get("worker")?.positions.get("t")).toBe(5);
    await first.close();
    const second = await client.subscribe("t", { from: "earliest", durable: "worker" });
    expect(second.positions).toEqual({ t: 5 });
    expect((await take(second, 1))[0]?.offset).toBe(5);
  });

  test("acks of many messages in a row are coalesced into few requests", async () => {
    cluster = await FakeCluster.start(1);
    fill(cluster, "t", 1000);
    client = await connect({ servers: cluster.addresses });
    const subscription = await client.subscribe("t", { from: "earliest", durable: "d" });
    const acks: Promise<void>[] = [];
    await take(subscription, 1000, (m) => void acks.push(subscription.ack(m)));
    await Promise.all(acks);
    expect(cluster.durables.get("d")?.positions.get("t")).toBe(1000);
    expect(cluster.count("ack")).toBeLessThan(100);
  });

  test("close({ remove: true }) on a follower's stream deletes the durable subscription through the leader", async () => {
    cluster = await FakeCluster.start(2);
    cluster.setLeader(2);
    client = await connect({ servers: cluster.addresses });
    // created on the leader; a follower then serves a stream of the existing subscription
    await (await client.subscribe("t", { durable: "gone" })).close();
    expect(cluster.durables.has("gone")).toBe(true);
    const onFollower = await client.subscribe("t", { durable: "gone" });
    expect(cluster.node(1).sessions.size).toBe(1);
    await onFollower.close({ remove: true });
    expect(cluster.durables.has("gone")).toBe(false);
  });

  test("ack on a stream that is not durable is BAD_USAGE", async () => {
    cluster = await FakeCluster.start(1);
    fill(cluster, "t", 1);
    client = await connect({ servers: cluster.addresses });
    const subscription = await client.subscribe("t", { from: "earliest" });
    const [m] = await take(subscription, 1);
    const error = await subscription.ack(m!).catch((e: unknown) => e);
    expect(isMqraftError(error, "BAD_USAGE")).toBe(true);
  });
});
