import { decodeEntryMessages } from "../broker/command-codec.ts";
import type { PublishMessage } from "../broker/commands.ts";
import type { BrokerState } from "../broker/state-machine.ts";
import { PatternTrie } from "../broker/topic-trie.ts";
import { describeError, isMqraftError, MqraftError } from "../util/errors.ts";
import type { TopicPattern } from "../util/topic-pattern.ts";
import type { Gap, Push } from "../wire/index.ts";

/** Reads the data of one committed log entry (from the page cache or the disk). */
export type EntryReader = (index: number) => Uint8Array | undefined;

/** What a subscription writes to: a client connection. */
export interface DeliverySink {
  send(message: Push): boolean;
  readonly queuedBytes: number;
  readonly isOpen: boolean;
  writable(): Promise<void>;
}

/** Pushing stops above this many unsent bytes and resumes once the client has read them. */
export const HIGH_WATER_BYTES = 4 << 20;
const SCAN_BATCH = 256;
/** How often a subscribe waiting for this broker to catch up looks again, besides each apply. */
const CATCH_UP_CHECK_MS = 20;

/**
 * One push stream: per topic, the next offset to send. Messages are read back from the Raft log
 * (the message store), so a subscriber that falls behind costs disk reads, never broker memory.
 * Nothing is skipped in silence: offsets it will never send (removed by retention before they were
 * sent, or unreadable) are announced with a `gap` push, and the stream goes on after them.
 */
export class Subscription {
  private waiting = false;
  private lastIndex = -1;
  private lastMessages: (PublishMessage | undefined)[] = [];
  /** Messages sent to the client (read by /metrics). */
  delivered = 0;
  /** Patterns whose topics join this stream as they are created: those with an id from `sinceTopic` on. */
  patterns: readonly TopicPattern[] = [];
  sinceTopic = 0;
  /** The last pump sent everything committed in every topic (no topic left behind by a full buffer). */
  private caughtUp = false;

  constructor(
    readonly id: number,
    /** The next offset to send per topic; may lie below the topic's first retained offset (a gap is sent first). */
    readonly positions: Map<string, number>,
    private readonly sink: DeliverySink,
    readonly durable: string | undefined,
    /** Called once if the broker ends this stream by itself (the session that owns it forgets it). */
    private readonly onEnded: (s: Subscription) => void = () => {},
    /** With `durable`: the subscriber this stream serves; another holder's subscribe ends it (FENCED). */
    readonly holder?: string,
  ) {
    for (const [topic, next] of positions) checkPosition(topic, next);
  }

  /**
   * Sends what is committed and not yet sent, until the client's buffer is full. Throws when it
   * cannot go on (the feed then ends this subscription alone).
   */
  pump(
    state: BrokerState,
    read: EntryReader,
    failed: (s: Subscription, e: unknown) => void,
    /** The topics appended to since the last pump, when known: a stream caught up everywhere reads only those. */
    changed?: readonly string[],
  ): void {
    if (this.waiting || !this.sink.isOpen) return;
    if (this.durable !== undefined && this.holder !== undefined) {
      const holder = state.durableHolder(this.durable);
      if (holder !== undefined && holder !== this.holder) {
        throw new MqraftError("FENCED", `durable subscription "${this.durable}" was taken over by another subscriber`);
      }
    }
    // a stream over many topics (a wide pattern) looks only at what changed, not at every topic on every commit
    const only = changed !== undefined && this.caughtUp && changed.length < this.positions.size ? changed : undefined;
    this.caughtUp = false;
    for (let progressed = true; progressed; ) {
      progressed = false;
      for (const topic of only ?? this.positions.keys()) {
        const position = this.positions.get(topic);
        // nothing new, or not a topic of this stream: passed without allocating
        if (position === undefined || position >= state.nextOffsetOf(topic)) continue;
        let next = position;
        const first = state.topicInfo(topic)?.firstOffset ?? 0;
        if (next < first) {
          this.gap(topic, next, first, "retention");
          next = first;
          this.positions.set(topic, next);
        }
        const found = state.scan(topic, next, SCAN_BATCH);
        for (const at of found) {
          if (at.offset !== next) throw new MqraftError("INTERNAL", `scan of ${topic} from ${next} gave ${at.offset}`);
          const message = at.expired ? undefined : this.messageAt(at.index, at.slot, read);
          if (at.expired) this.gap(topic, at.offset, at.offset + 1, "expired");
          else if (message !== undefined) {
            const { data, headers } = message;
            const base = {
              type: "message",
              subscription: this.id,
              topic,
              offset: at.offset,
              data,
              time: at.time,
            } as const;
            this.sink.send(headers === undefined ? base : { ...base, headers });
            this.delivered++;
          } else this.gap(topic, at.offset, at.offset + 1, "unreadable");
          next = at.offset + 1;
          this.positions.set(topic, next);
          progressed = true;
        }
        if (this.sink.queuedBytes > HIGH_WATER_BYTES) {
          this.waiting = true;
          this.sink.writable().then(
            () => {
              this.waiting = false;
              try {
                this.pump(state, read, failed);
              } catch (e) {
                failed(this, e);
              }
            },
            () => {},
          );
          return;
        }
      }
    }
    this.caughtUp = true;
  }

  /** Takes in, at their first offset, the topics created from topic id `sinceTopic` on that match `patterns`. */
  watch(patterns: readonly TopicPattern[], sinceTopic: number): void {
    this.patterns = patterns;
    this.sinceTopic = sinceTopic;
  }

  /** A topic created after the stream began matches one of its patterns: it is read from its first message. */
  topicCreated(topic: string, id: number): void {
    if (id >= this.sinceTopic && !this.positions.has(topic)) this.positions.set(topic, 0);
  }

  /** Tells the client this stream is over: it ends with `error`, and nothing more is sent on it. */
  end(error: MqraftError): void {
    if (this.sink.isOpen) {
      this.sink.send({ type: "ended", subscription: this.id, code: error.code, message: error.message });
    }
    this.onEnded(this);
  }

  private gap(topic: string, from: number, to: number, reason: Gap["reason"]): void {
    this.sink.send({ type: "gap", subscription: this.id, topic, from, to, reason });
  }

  private messageAt(index: number, slot: number, read: EntryReader): PublishMessage | undefined {
    if (index !== this.lastIndex) {
      const data = read(index);
      this.lastMessages = data === undefined ? [] : decodeEntryMessages(data);
      this.lastIndex = index;
    }
    return this.lastMessages[slot];
  }
}

function checkPosition(topic: string, position: number): void {
  if (!Number.isSafeInteger(position) || position < 0)
    throw new MqraftError("INTERNAL", `subscription position ${position} for topic ${JSON.stringify(topic)}`);
}

/**
 * Every open push stream of this broker; pumped once per turn after entries are applied. Each
 * stream is pumped on its own: one that fails is ended with an error (`ended`) and removed, and
 * the others carry on.
 */
export class SubscriptionFeed {
  private readonly subscriptions = new Set<Subscription>();
  /** Requests waiting until this broker has applied an index (a read index). */
  private readonly appliedWaiters = new Set<{ index: number; applied: () => number; done: () => void }>();
  private scheduled = false;
  /** Messages delivered by subscriptions already removed (see delivered). */
  private retiredDelivered = 0;
  private readonly failed = (s: Subscription, e: unknown): void => this.fail(s, e);
  /** The streams that have patterns, under each: a new topic finds the streams it joins in one walk. */
  private readonly patterns = new PatternTrie<Subscription>();
  /** Topics (by id) already offered to the pattern streams. */
  private topicsSeen = 0;
  /** The state pumped last: another one (a snapshot installed) means every stream reads every topic once. */
  private lastState: BrokerState | undefined;

  constructor(
    private readonly state: () => BrokerState,
    private readonly read: EntryReader,
    private readonly defer: (fn: () => void) => void,
  ) {}

  add(subscription: Subscription): void {
    this.subscriptions.add(subscription);
    for (const p of subscription.patterns) this.patterns.add(p.text, subscription);
    this.pumpOne(subscription, this.state());
  }

  remove(subscription: Subscription): void {
    if (this.subscriptions.delete(subscription)) this.retiredDelivered += subscription.delivered;
    this.unwatch(subscription);
  }

  /** Messages pushed to subscribers since start (read at scrape time by /metrics). */
  get delivered(): number {
    let n = this.retiredDelivered;
    for (const s of this.subscriptions) n += s.delivered;
    return n;
  }

  get size(): number {
    return this.subscriptions.size;
  }

  /** Subscriptions on this broker that read `topic` (`mqraft topic info`). */
  subscribers(topic: string): number {
    let n = 0;
    for (const s of this.subscriptions) if (s.positions.has(topic)) n++;
    return n;
  }

  /**
   * Resolves once `applied()` reaches `index` (checked now, whenever entries are applied, and every
   * CATCH_UP_CHECK_MS, as the core may count entries applied after the last notify, e.g. a snapshot
   * installed while nothing else arrives), or rejects with UNAVAILABLE after `timeoutMs`: a broker
   * that cannot catch up sends the client elsewhere.
   */
  whenApplied(index: number, applied: () => number, timeoutMs: number): Promise<void> {
    if (applied() >= index) return Promise.resolve();
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const started = performance.now();
    const waiter = {
      index,
      applied,
      done: () => {
        clearInterval(timer);
        this.appliedWaiters.delete(waiter);
        resolve();
      },
    };
    const timer = setInterval(() => {
      if (applied() >= index) return waiter.done();
      if (performance.now() - started < timeoutMs) return;
      clearInterval(timer);
      this.appliedWaiters.delete(waiter);
      reject(
        new MqraftError(
          "UNAVAILABLE",
          `this broker has applied up to ${applied()}, behind the cluster's commit ${index}; try another broker`,
        ),
      );
    }, CATCH_UP_CHECK_MS);
    this.appliedWaiters.add(waiter);
    return promise;
  }

  /** New entries were applied. */
  notify(): void {
    if (this.scheduled || (this.subscriptions.size === 0 && this.appliedWaiters.size === 0)) return;
    this.scheduled = true;
    // deferred: the core counts entries as applied once the driver has advanced past them
    this.defer(() => {
      this.scheduled = false;
      for (const w of this.appliedWaiters) if (w.applied() >= w.index) w.done();
      const state = this.state();
      const appended = state.takeAppended();
      const changed = state === this.lastState ? appended : undefined;
      this.lastState = state;
      this.offerNewTopics(state);
      for (const s of this.subscriptions) this.pumpOne(s, state, changed);
    });
  }

  /** Topics created since the last look join the pattern streams they match. */
  private offerNewTopics(state: BrokerState): void {
    const count = state.topicCount;
    if (this.patterns.size > 0) {
      for (let id = this.topicsSeen; id < count; id++) {
        const topic = state.topicName(id);
        this.patterns.match(topic, (s) => s.topicCreated(topic, id));
      }
    }
    this.topicsSeen = count;
  }

  private unwatch(subscription: Subscription): void {
    for (const p of subscription.patterns) this.patterns.remove(p.text, subscription);
  }

  private pumpOne(subscription: Subscription, state: BrokerState, changed?: readonly string[]): void {
    try {
      subscription.pump(state, this.read, this.failed, changed);
    } catch (e) {
      this.fail(subscription, e);
    }
  }

  private fail(subscription: Subscription, e: unknown): void {
    if (!this.subscriptions.delete(subscription)) return;
    this.retiredDelivered += subscription.delivered;
    this.unwatch(subscription);
    const error = isMqraftError(e) ? e : new MqraftError("INTERNAL", describeError(e));
    subscription.end(error);
  }
}
