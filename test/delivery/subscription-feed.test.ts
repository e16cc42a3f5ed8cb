import { describe, expect, test } from "bun:test";
import { encodeCommand } from "../../src/broker/command-codec.ts";
import type { Command } from "../../src/broker/commands.ts";
import { BrokerState } from "../../src/broker/state-machine.ts";
import { type DeliverySink, Subscription, SubscriptionFeed } from "../../src/node/subscription-feed.ts";
import type { Push } from "../../src/wire/index.ts";
import { msg, T0 } from "../broker/helpers.ts";

/** A broker state whose log is kept here, so that a test can read entries back (or fail to). */
class Log {
  readonly state = new BrokerState();
  readonly entries = new Map<number, Uint8Array>();

  apply(command: Command): void {
    const index = this.state.appliedIndex + 1;
    const data = encodeCommand(command);
    this.entries.set(index, data);
    this.state.apply(index, data);
  }
}

class Sink implements DeliverySink {
  readonly got: Push[] = [];
  queuedBytes = 0;
  isOpen = true;
  send(message: Push): boolean {
    this.got.push(message);
    return true;
  }
  writable(): Promise<void> {
    return Promise.resolve();
  }
}

const seen = (sink: Sink) =>
  sink.got.map((m) =>
    m.type === "message"
      ? `${m.topic}@${m.offset}`
      : m.type === "gap"
        ? `gap ${m.topic} [${m.from},${m.to}) ${m.reason}`
        : `ended ${m.code}`,
  );

const deferred: (() => void)[] = [];
const runDeferred = (): void => {
  for (const fn of deferred.splice(0)) fn();
};

describe("the subscription feed", () => {
  test("a subscription that fails is ended with an error; the others keep receiving", () => {
    const log = new Log();
    const broken = new Set<number>();
    const feed = new SubscriptionFeed(
      () => log.state,
      (index) => {
        if (broken.has(index)) throw new Error(`disk error reading entry ${index}`);
        return log.entries.get(index);
      },
      (fn) => deferred.push(fn),
    );
    const endedIds: number[] = [];
    const sinks = [new Sink(), new Sink(), new Sink()];
    const topics = ["a", "bad", "c"];
    for (const [i, sink] of sinks.entries()) {
      const topic = topics[i] as string;
      feed.add(new Subscription(i + 1, new Map([[topic, 0]]), sink, undefined, (s) => endedIds.push(s.id)));
    }
    log.apply({ type: "publish", time: T0, messages: [msg("bad")] });
    broken.add(log.state.appliedIndex);
    for (let i = 0; i < 3; i++) log.apply({ type: "publish", time: T0, messages: [msg("a"), msg("c")] });
    feed.notify();
    runDeferred();
    expect(sinks.map(seen)).toEqual([["a@0", "a@1", "a@2"], ["ended INTERNAL"], ["c@0", "c@1", "c@2"]]);
    expect(endedIds).toEqual([2]);
    expect(feed.size).toBe(2);
  });

  test("messages removed by retention before they were sent, and unreadable ones, are announced as gaps", () => {
    const log = new Log();
    const unreadable = new Set<number>();
    const feed = new SubscriptionFeed(
      () => log.state,
      (index) => (unreadable.has(index) ? undefined : log.entries.get(index)),
      (fn) => deferred.push(fn),
    );
    log.apply({ type: "config", time: T0, retention: { maxMessages: 3 } });
    for (let i = 0; i < 6; i++) log.apply({ type: "publish", time: T0, messages: [msg("t", `m${i}`)] });
    // offsets 3, 4, 5 are retained; offset 4's entry cannot be read
    unreadable.add(log.state.appliedIndex - 1);
    const sink = new Sink();
    feed.add(new Subscription(1, new Map([["t", 1]]), sink, undefined));
    expect(seen(sink)).toEqual(["gap t [1,3) retention", "t@3", "gap t [4,5) unreadable", "t@5"]);
    // a subscriber behind by more than the retention limit learns what it missed
    const slow = new Sink();
    slow.isOpen = false;
    const s = new Subscription(2, new Map([["t", 6]]), slow, undefined);
    feed.add(s);
    for (let i = 6; i < 12; i++) log.apply({ type: "publish", time: T0, messages: [msg("t", `m${i}`)] });
    slow.isOpen = true;
    feed.notify();
    runDeferred();
    expect(seen(slow)).toEqual(["gap t [6,9) retention", "t@9", "t@10", "t@11"]);
  });

  test("a position that is not a whole number is refused before the stream starts", () => {
    expect(() => new Subscription(1, new Map([["t", Number.NaN]]), new Sink(), undefined)).toThrow(
      "subscription position NaN",
    );
  });
});
