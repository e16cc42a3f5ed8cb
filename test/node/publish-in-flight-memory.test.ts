import { heapStats } from "bun:jsc";
import { describe, expect, test } from "bun:test";
import { ClientSession, type SessionHost } from "../../src/node/client-session.ts";
import type { PublishOutcome, PublishSink } from "../../src/node/publish-batcher.ts";
import { PROTOCOL_VERSION } from "../../src/wire/index.ts";

const IN_FLIGHT = 5_000;

/** Functions and scopes alive after a full collection. */
function closures(): number {
  Bun.gc(true);
  const counts = heapStats().objectTypeCounts as Record<string, number>;
  return (counts.Function ?? 0) + (counts.JSLexicalEnvironment ?? 0);
}

describe("a publish waiting for its commit", () => {
  test("holds no closure of its own on the broker", () => {
    // A closure per publish lived as long as the publish was in flight, so the collector promoted it to the old
    // generation, where it piled up as garbage until the next full collection (docs/memory.md).
    const held: unknown[] = [];
    const connection = {
      isOpen: true,
      remoteAddress: "127.0.0.1:1",
      maxFrameBytes: 1 << 24,
      limitIncomingFrames: (_bytes: number) => {},
      onMessage: (_m: unknown) => {},
      onClose: () => {},
      send: () => true,
      pause() {},
      resume() {},
    };
    // The broker holds whatever the session hands it for the outcome, as the batcher and the pending proposals do.
    const broker = {
      publish: (_m: unknown, done: (outcome: PublishOutcome) => void) => held.push(done),
      publishTo: (_m: unknown, sink: PublishSink, id: number, bytes: number) => held.push(sink, id, bytes),
    };
    const host = {
      broker,
      welcome: () => ({ type: "welcome", version: PROTOCOL_VERSION, nodeId: 1, maxFrameBytes: 1 << 24, members: [] }),
    } as unknown as SessionHost;
    new ClientSession(host, connection as never);
    connection.onMessage({ type: "hello", version: PROTOCOL_VERSION });
    const data = new Uint8Array(16);
    const before = closures();
    for (let id = 1; id <= IN_FLIGHT; id++) connection.onMessage({ type: "publish", id, topic: "t", data });
    const grew = closures() - before;
    if (grew >= IN_FLIGHT / 10) {
      throw new Error(
        `expected fewer than ${IN_FLIGHT / 10} more functions and scopes with ${IN_FLIGHT} publishes in flight, got ${grew} more`,
      );
    }
    expect(held.length).toBeGreaterThanOrEqual(IN_FLIGHT);
  });
});
