import { afterEach, describe, expect, test } from "bun:test";
import { connect, type MqraftClient, type Subscription } from "../../src/client/index.ts";
import { waitFor } from "../support/wait.ts";
import { LocalBroker } from "./local-broker.ts";

let broker: LocalBroker | undefined;
const clients: MqraftClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
  await broker?.destroy();
  broker = undefined;
});

async function client(address: string): Promise<MqraftClient> {
  const c = await connect({ servers: [address], timeoutMs: 10_000 });
  clients.push(c);
  return c;
}

/** Reads a stream in the background: what it yields, and how it ended. */
function consume(subscription: Subscription) {
  const out = { got: [] as string[], end: undefined as string | undefined };
  void (async () => {
    try {
      for await (const m of subscription) out.got.push(new TextDecoder().decode(m.data));
      out.end = "done";
    } catch (e) {
      out.end = e instanceof Error ? `${(e as { code?: string }).code}: ${e.message}` : String(e);
    }
  })();
  return out;
}

describe("a durable subscription has one consumer at a time", () => {
  test("a second consumer takes it over: the first is told (FENCED) and gets nothing more, its acks are refused", async () => {
    broker = await LocalBroker.start();
    const publisher = await client(broker.address);
    const firstSub = await (await client(broker.address)).subscribe("t", { durable: "d", from: "earliest" });
    const first = consume(firstSub);
    await publisher.publish("t", "m0");
    await waitFor("m0 at the first consumer", () => (first.got.length === 1 ? true : undefined));
    const second = consume(await (await client(broker.address)).subscribe("t", { durable: "d", from: "earliest" }));
    await waitFor(`the first consumer told (ended: ${first.end})`, () => (first.end !== undefined ? true : undefined));
    for (const v of ["m1", "m2", "m3"]) await publisher.publish("t", v);
    await waitFor(`m1..m3 at the second consumer (got ${second.got})`, () =>
      second.got.includes("m3") ? true : undefined,
    );
    expect(first.got).toEqual(["m0"]);
    expect(first.end).toStartWith("FENCED: ");
    expect(second.got).toEqual(["m0", "m1", "m2", "m3"]);
    const ack = await firstSub.ack({ topic: "t", offset: 0, data: new Uint8Array() }).then(
      () => "ok",
      (e: unknown) => (e as { code?: string }).code,
    );
    expect(ack).toBe("FENCED");
  });
});
