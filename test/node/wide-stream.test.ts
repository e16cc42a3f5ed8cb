import { describe, expect, test } from "bun:test";
import { encodeCommand } from "../../src/broker/command-codec.ts";
import type { PublishMessage } from "../../src/broker/commands.ts";
import { BrokerState } from "../../src/broker/state-machine.ts";
import { type DeliverySink, Subscription, SubscriptionFeed } from "../../src/node/subscription-feed.ts";
import { TopicPattern } from "../../src/util/topic-pattern.ts";
import type { Push } from "../../src/wire/index.ts";
import { msg, T0 } from "../broker/helpers.ts";

class Sink implements DeliverySink {
  readonly got: string[] = [];
  queuedBytes = 0;
  isOpen = true;
  private release: (() => void) | undefined;
  send(m: Push): boolean {
    if (m.type === "message") this.got.push(`${m.topic}@${m.offset}`);
    return true;
  }
  writable(): Promise<void> {
    return new Promise((resolve) => {
      this.release = resolve;
    });
  }
  /** The client read everything: the stream may go on. */
  drained(): void {
    this.queuedBytes = 0;
    this.release?.();
  }
}

describe("a push stream over many topics reads only the topics a commit changed", () => {
  test("every message of every matching topic arrives, also after the stream fell behind and caught up", async () => {
    let state = new BrokerState();
    const entries = new Map<number, Uint8Array>();
    const publish = (...messages: PublishMessage[]) => {
      const index = state.appliedIndex + 1;
      const data = encodeCommand({ type: "publish", time: T0, messages });
      entries.set(index, data);
      state.apply(index, data);
    };
    const topics = Array.from({ length: 50 }, (_, i) => `t.${i}`);
    publish(...topics.map((t) => msg(t)));
    const feed = new SubscriptionFeed(
      () => state,
      (index) => entries.get(index),
      (fn) => fn(),
    );
    const sink = new Sink();
    const stream = new Subscription(1, new Map(topics.map((t) => [t, 1])), sink, undefined);
    stream.watch([new TopicPattern("t.>")], state.topicCount);
    feed.add(stream);
    publish(msg("t.3"), msg("t.7"));
    feed.notify();
    expect(sink.got).toEqual(["t.3@1", "t.7@1"]);
    // the client stops reading: the stream stops after the first topic it sent to, and is behind in the others
    sink.queuedBytes = 64 << 20;
    publish(msg("t.1"), msg("t.2"), msg("t.new"));
    feed.notify();
    expect(sink.got).toEqual(["t.3@1", "t.7@1", "t.1@1"]);
    publish(msg("t.9"));
    feed.notify();
    sink.drained();
    await Promise.resolve();
    expect(sink.got.slice(3).sort()).toEqual(["t.2@1", "t.9@1", "t.new@0"]);
    // a state restored from a snapshot: every topic is read once more, and nothing is sent twice
    state = BrokerState.restore(state.snapshot());
    publish(msg("t.4"));
    feed.notify();
    expect(sink.got.slice(6)).toEqual(["t.4@1"]);
    publish(msg("t.4"), msg("t.new"));
    feed.notify();
    expect(sink.got.slice(7)).toEqual(["t.4@2", "t.new@1"]);
  });
});
