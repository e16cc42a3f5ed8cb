import { describe, expect, test } from "bun:test";
import type { ReceivedMessage, Subscription } from "../../src/client/index.ts";
import { waitFor } from "../support/wait.ts";
import { localBrokerPerTest } from "./local-broker.ts";

const local = localBrokerPerTest();

async function drain(subscription: Subscription): Promise<string[]> {
  const got: string[] = [];
  for await (const m of subscription) got.push(`${m.topic}@${m.offset}=${new TextDecoder().decode(m.data)}`);
  return got;
}

function collect(subscription: Subscription): ReceivedMessage[] {
  const got: ReceivedMessage[] = [];
  void (async () => {
    for await (const m of subscription) got.push(m);
  })().catch(() => {});
  return got;
}

// valibot's v.record drops these keys and a plain object answers them from its prototype
const NAMES = ["constructor", "__proto__", "prototype", "toString", "hasOwnProperty"];

describe("topic names that are also names of Object.prototype's properties", () => {
  test("a drain of each such topic delivers what it holds", async () => {
    await local.start();
    const c = await local.client();
    for (const name of NAMES) await c.publish(name, `in ${name}`);
    for (const name of NAMES) {
      const subscription = await c.subscribe(name, { from: "earliest", drain: true });
      expect({ name, ends: subscription.ends[name], got: await drain(subscription) }).toEqual({
        name,
        ends: 1,
        got: [`${name}@0=in ${name}`],
      });
    }
    const all = await c.subscribe(NAMES, { from: "earliest", drain: true });
    expect((await drain(all)).sort()).toEqual(NAMES.map((n) => `${n}@0=in ${n}`).sort());
  });

  test("resuming a `constructor` subscription after a restart neither fails nor stops delivery to other subscribers", async () => {
    const broker = await local.start();
    const publisher = await local.client();
    await publisher.publish("constructor", "c0");
    const weird = collect(await (await local.client()).subscribe("constructor", { from: "earliest" }));
    await waitFor("c0 on the constructor subscription", () => (weird.length === 1 ? true : undefined));
    await broker.stop();
    await broker.restart();
    // the resumed subscription is back once it sees a message published after the restart
    await publisher.publish("constructor", "c1");
    await waitFor("c1 on the resumed constructor subscription", () => (weird.length === 2 ? true : undefined), {
      timeoutMs: 20_000,
    });
    const orders = collect(await (await local.client()).subscribe("orders", { from: "earliest" }));
    for (let i = 0; i < 5; i++) await publisher.publish("orders", `o${i}`);
    await waitFor(`5 orders (got ${orders.length})`, () => (orders.length === 5 ? true : undefined));
    expect(weird.map((m) => m.offset)).toEqual([0, 1]);
    expect(orders.map((m) => new TextDecoder().decode(m.data))).toEqual(["o0", "o1", "o2", "o3", "o4"]);
  });
});
