import { describe, expect, test } from "bun:test";
import {
  ClientSession,
  MAX_PUBLISH_BYTES_IN_FLIGHT,
  MAX_PUBLISHES_IN_FLIGHT,
  type SessionHost,
} from "../../src/node/client-session.ts";
import type { PublishOutcome, PublishSink } from "../../src/node/publish-batcher.ts";
import { PROTOCOL_VERSION } from "../../src/wire/index.ts";

/** A connection that records what the session does to it, and a broker that holds every publish until told. */
function session() {
  const sent: { type: string; id?: number }[] = [];
  const connection = {
    paused: false,
    isOpen: true,
    remoteAddress: "127.0.0.1:1",
    maxFrameBytes: 1 << 24,
    limitIncomingFrames: (_bytes: number) => {},
    onMessage: (_m: unknown) => {},
    onClose: () => {},
    send: (m: { type: string; id?: number }) => {
      sent.push(m);
      return true;
    },
    pause() {
      this.paused = true;
    },
    resume() {
      this.paused = false;
    },
  };
  const waiting: ((outcome: PublishOutcome) => void)[] = [];
  const host = {
    broker: {
      publishTo: (_m: unknown, sink: PublishSink, id: number, bytes: number) =>
        waiting.push((outcome) => sink.publishSettled(id, bytes, outcome)),
    },
    welcome: () => ({ type: "welcome", version: PROTOCOL_VERSION, nodeId: 1, maxFrameBytes: 1 << 24, members: [] }),
  } as unknown as SessionHost;
  new ClientSession(host, connection as never);
  connection.onMessage({ type: "hello", version: PROTOCOL_VERSION });
  let id = 0;
  const publish = (size: number) =>
    connection.onMessage({ type: "publish", id: ++id, topic: "t", data: new Uint8Array(size) });
  const settle = (n: number) => {
    for (const done of waiting.splice(0, n)) done({ type: "publish", topic: "t", offset: 0 });
  };
  return { connection, sent, publish, settle, waiting };
}

describe("a client session bounds the publishes it holds", () => {
  test("past the count limit it stops reading, and reads again once half are answered", () => {
    const s = session();
    for (let i = 0; i < MAX_PUBLISHES_IN_FLIGHT - 1; i++) s.publish(1);
    expect(s.connection.paused).toBe(false);
    s.publish(1);
    expect(s.connection.paused).toBe(true);
    s.settle(MAX_PUBLISHES_IN_FLIGHT / 2 - 1);
    expect(s.connection.paused).toBe(true);
    s.settle(1);
    expect(s.connection.paused).toBe(false);
    expect(s.sent.filter((m) => m.type === "published").length).toBe(MAX_PUBLISHES_IN_FLIGHT / 2);
  });

  test("past the byte limit it stops reading, and reads again once half the bytes are answered", () => {
    const s = session();
    const size = 1 << 20;
    const count = MAX_PUBLISH_BYTES_IN_FLIGHT / size;
    for (let i = 0; i < count - 1; i++) s.publish(size);
    expect(s.connection.paused).toBe(false);
    s.publish(size);
    expect(s.connection.paused).toBe(true);
    s.settle(count / 2 - 1);
    expect(s.connection.paused).toBe(true);
    s.settle(1);
    expect(s.connection.paused).toBe(false);
  });
});
