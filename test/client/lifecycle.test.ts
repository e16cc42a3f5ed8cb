import { afterEach, describe, expect, test } from "bun:test";
import { connect, isMqraftError, type MqraftClient, type ReceivedMessage } from "../../src/client/index.ts";
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

describe("client lifecycle and callbacks", () => {
  test("drain() waits for every publish in flight to be acknowledged, refuses new ones, then closes", async () => {
    cluster = await FakeCluster.start(1);
    cluster.commitDelayMs = 50;
    client = await connect({ servers: cluster.addresses });
    const published = Array.from({ length: 200 }, (_, i) => client!.publish("t", `m${i}`));
    const draining = client.drain();
    const late = await client.publish("t", "late").catch((e: unknown) => e);
    expect(isMqraftError(late, "CONNECTION_CLOSED")).toBe(true);
    await draining;
    const offsets = (await Promise.all(published)).map((r) => r.offset);
    expect(offsets).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(await client.closed).toBeNull();
    expect(cluster.nextOffset("t")).toBe(200);
  });

  test("closed settles with null after close(); publishes still waiting fail with CONNECTION_CLOSED", async () => {
    cluster = await FakeCluster.start(1);
    cluster.commitDelayMs = 1_000;
    client = await connect({ servers: cluster.addresses });
    const waiting = client.publish("t", "x").catch((e: unknown) => e);
    let settled: unknown = "not yet";
    void client.closed.then((reason) => {
      settled = reason;
    });
    await client.close();
    expect(settled).toBeNull();
    expect(isMqraftError(await waiting, "CONNECTION_CLOSED")).toBe(true);
  });

  test("a subscription with onMessage hands every message to the callback in order, one at a time", async () => {
    cluster = await FakeCluster.start(1);
    client = await connect({ servers: cluster.addresses });
    const got: string[] = [];
    let running = 0;
    let overlapped = false;
    await client.subscribe("t", {
      from: "earliest",
      onMessage: async (m) => {
        overlapped ||= running > 0;
        running++;
        await Bun.sleep(1);
        got.push(`${m.offset}:${text(m)}`);
        running--;
      },
    });
    for (let i = 0; i < 20; i++) await client.publish("t", `m${i}`);
    await waitFor("20 messages through the callback", () => got.length === 20 || undefined);
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => `${i}:m${i}`));
    expect(overlapped).toBe(false);
  });

  test("a callback that throws closes its subscription and reaches onError", async () => {
    cluster = await FakeCluster.start(1);
    client = await connect({ servers: cluster.addresses });
    const errors: unknown[] = [];
    const subscription = await client.subscribe("t", {
      from: "earliest",
      onMessage: (m) => {
        if (m.offset === 2) throw new Error("cannot handle 2");
      },
      onError: (e) => errors.push(e),
    });
    for (let i = 0; i < 5; i++) await client.publish("t", `m${i}`);
    await waitFor("the error", () => errors.length > 0 || undefined);
    expect(errors.map((e) => (e as Error).message)).toEqual(["cannot handle 2"]);
    expect(subscription.live).toBe(false);
  });
});
