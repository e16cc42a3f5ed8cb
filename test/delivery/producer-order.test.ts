import { describe, expect, test } from "bun:test";
import type { MqraftClient } from "../../src/client/index.ts";
import type { PublishBatcher } from "../../src/node/publish-batcher.ts";
import type { Proposed } from "../../src/raft/index.ts";
import { MqraftError } from "../../src/util/errors.ts";
import { type LocalBroker, localBrokerPerTest } from "./local-broker.ts";

const local = localBrokerPerTest();

/** Everything stored in `topic`, in offset order. */
async function stored(c: MqraftClient, topic: string): Promise<string[]> {
  const values: string[] = [];
  for await (const m of await c.subscribe(topic, { from: "earliest", drain: true })) {
    values.push(new TextDecoder().decode(m.data));
  }
  return values;
}

/**
 * Makes the leader refuse its `nth` publish batch as a leader in a leadership transfer does
 * (UNAVAILABLE), and accept the ones after it again in the same term.
 */
function refuseBatch(
  b: LocalBroker,
  nth: number,
  error = new MqraftError("UNAVAILABLE", "leadership transfer in progress"),
): () => number {
  const batcher = (b.node as unknown as { broker: { batcher: PublishBatcher } }).broker.batcher;
  const seam = batcher as unknown as { propose: (data: Uint8Array) => Proposed };
  const inner = seam.propose;
  let batches = 0;
  seam.propose = (data) => {
    batches++;
    if (batches === nth) throw error;
    return inner(data);
  };
  return () => batches;
}

const values = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe("a producer's publishes are stored once each, in call order", () => {
  test("a batch refused in the middle of a pipeline (an aborted leadership transfer) does not let later publishes overtake it", async () => {
    const broker = await local.start();
    const c = await local.client();
    await c.publish("t", "warm-up");
    // 4 KiB messages: a turn's worth of the pipeline is several batches (one per MiB), so publishes sent after
    // the refused ones are already in the batches that follow it
    const batches = refuseBatch(broker, 3);
    const pad = "x".repeat(4096);
    const sent = values("m", 3000);
    const results = await Promise.all(sent.map((v) => c.publish("t", `${v} ${pad}`)));
    expect(batches()).toBeGreaterThan(3);
    expect(results.map((r) => r.offset)).toEqual(Array.from({ length: 3000 }, (_, i) => i + 1));
    expect((await stored(c, "t")).map((v) => v.split(" ")[0])).toEqual(["warm-up", ...sent]);
  });

  test("publishes the client gave up on leave no hole: what follows is stored, in call order", async () => {
    const broker = await local.start();
    const c = await local.client();
    await c.publish("t", "warm-up");
    // a refusal the client does not retry: those publishes fail, and their seqs are never stored
    refuseBatch(broker, 3, new MqraftError("REFUSED", "refused for this test"));
    const pad = "x".repeat(4096);
    const sent = values("m", 3000);
    const outcomes = await Promise.all(
      sent.map((v) =>
        c.publish("t", `${v} ${pad}`).then(
          () => "ok",
          (e: unknown) => (e instanceof MqraftError ? e.code : String(e)),
        ),
      ),
    );
    const refused = sent.filter((_, i) => outcomes[i] === "REFUSED");
    expect(refused.length).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o !== "ok" && o !== "REFUSED")).toEqual([]);
    const kept = sent.filter((_, i) => outcomes[i] === "ok");
    expect((await stored(c, "t")).map((v) => v.split(" ")[0])).toEqual(["warm-up", ...kept]);
  });

  test("a second client under the same producer id (a restart within the dedup window) loses nothing, and the first is fenced off loudly", async () => {
    await local.start();
    const first = await local.client({ producer: "shared" });
    for (const v of values("a", 5)) await first.publish("t", v);
    const second = await local.client({ producer: "shared" });
    const offsets = [];
    for (const v of values("b", 5)) offsets.push((await second.publish("t", v)).offset);
    expect(offsets).toEqual([5, 6, 7, 8, 9]);
    expect(await stored(second, "t")).toEqual([...values("a", 5), ...values("b", 5)]);
    const late = await first.publish("t", "a5").then(
      (r) => `stored at ${r.offset}`,
      (e: unknown) => (e instanceof MqraftError ? e.code : String(e)),
    );
    expect(late).toBe("FENCED");
  });
});
