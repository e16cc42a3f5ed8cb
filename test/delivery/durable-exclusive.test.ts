import { describe, expect, test } from "bun:test";
import type { Subscription } from "../../src/client/index.ts";
import { waitFor } from "../support/wait.ts";
import { localBrokerPerTest } from "./local-broker.ts";

const local = localBrokerPerTest();

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
    await local.start();
    const publisher = await local.client();
    const firstSub = await (await local.client()).subscribe("t", { durable: "d", from: "earliest" });
    const first = consume(firstSub);
    await publisher.publish("t", "m0");
    await waitFor("m0 at the first consumer", () => (first.got.length === 1 ? true : undefined));
    const second = consume(await (await local.client()).subscribe("t", { durable: "d", from: "earliest" }));
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
