import { describe, expect, test } from "bun:test";
import type { Subscription } from "../../src/client/index.ts";
import type { SubscriptionGap } from "../../src/client/subscription.ts";
import { localBrokerPerTest } from "./local-broker.ts";

const local = localBrokerPerTest();

async function offsets(subscription: Subscription): Promise<number[] | string> {
  const got: number[] = [];
  try {
    for await (const m of subscription) got.push(m.offset);
  } catch (e) {
    return `${got.join(",")} then ${e instanceof Error ? e.message : String(e)}`;
  }
  return got;
}

describe("a subscriber is told of messages it will never receive", () => {
  test("asking for offsets retention removed: told through onGap, or the stream fails naming them", async () => {
    await local.start({ retention: { maxMessages: 3 } });
    const c = await local.client();
    for (let i = 0; i < 6; i++) await c.publish("t", `m${i}`);
    const gaps: SubscriptionGap[] = [];
    const told = await c.subscribe("t", { from: 1, drain: true, onGap: (g) => gaps.push(g) });
    expect(await offsets(told)).toEqual([3, 4, 5]);
    expect(gaps).toEqual([{ topic: "t", from: 1, to: 3, reason: "retention" }]);
    const strict = await c.subscribe("t", { from: 0, drain: true });
    expect(await offsets(strict)).toBe(
      ' then messages 0 to 2 of topic "t" were removed by retention before they were delivered',
    );
  });

  test("a durable subscription that retention overtook resumes with a gap naming the dropped offsets", async () => {
    await local.start({ retention: { maxMessages: 3 } });
    const c = await local.client();
    for (let i = 0; i < 2; i++) await c.publish("t", `m${i}`);
    const first = await c.subscribe("t", { durable: "d", from: "earliest" });
    for await (const m of first) {
      await first.ack(m);
      if (m.offset === 1) break;
    }
    // while it is away, retention drops 2..4 before it read them (3 kept: 5, 6, 7)
    for (let i = 2; i < 8; i++) await c.publish("t", `m${i}`);
    const gaps: SubscriptionGap[] = [];
    const resumed = await c.subscribe("t", { durable: "d", from: "earliest", drain: true, onGap: (g) => gaps.push(g) });
    expect(await offsets(resumed)).toEqual([5, 6, 7]);
    expect(gaps).toEqual([{ topic: "t", from: 2, to: 5, reason: "retention" }]);
  });
});
