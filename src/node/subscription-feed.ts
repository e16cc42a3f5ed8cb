import { decodeEntryMessages } from "../broker/command-codec.ts";
import type { PublishMessage } from "../broker/commands.ts";
import type { BrokerState } from "../broker/state-machine.ts";
import type { Delivery } from "../wire/index.ts";

/** Reads the data of one committed log entry (from the page cache or the disk). */
export type EntryReader = (index: number) => Uint8Array | undefined;

/** What a subscription writes to: a client connection. */
export interface DeliverySink {
  send(message: Delivery): boolean;
  readonly queuedBytes: number;
  readonly isOpen: boolean;
  writable(): Promise<void>;
}

/** Pushing stops above this many unsent bytes and resumes once the client has read them. */
const HIGH_WATER_BYTES = 4 << 20;
const SCAN_BATCH = 256;

/**
 * One push stream: per topic, the next offset to send. Messages are read back from the Raft log
 * (the message store), so a subscriber that falls behind costs disk reads, never broker memory.
 */
export class Subscription {
  private waiting = false;
  private lastIndex = -1;
  private lastMessages: (PublishMessage | undefined)[] = [];
  /** Messages sent to the client (read by /metrics). */
  delivered = 0;

  constructor(
    readonly id: number,
    readonly positions: Map<string, number>,
    private readonly sink: DeliverySink,
    readonly durable: string | undefined,
  ) {}

  /** Sends what is committed and not yet sent, until the client's buffer is full. */
  pump(state: BrokerState, read: EntryReader): void {
    if (this.waiting || !this.sink.isOpen) return;
    for (let progressed = true; progressed; ) {
      progressed = false;
      for (const [topic, next] of this.positions) {
        const found = state.scan(topic, next, SCAN_BATCH);
        for (const at of found) {
          const message = this.messageAt(at.index, at.slot, read);
          if (message !== undefined) {
            this.sink.send({ type: "message", subscription: this.id, topic, offset: at.offset, data: message.data });
            this.delivered++;
          }
          this.positions.set(topic, at.offset + 1);
          progressed = true;
        }
        if (this.sink.queuedBytes > HIGH_WATER_BYTES) {
          this.waiting = true;
          this.sink.writable().then(
            () => {
              this.waiting = false;
              this.pump(state, read);
            },
            () => {},
          );
          return;
        }
      }
    }
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

/** Every open push stream of this broker; pumped once per turn after entries are applied. */
export class SubscriptionFeed {
  private readonly subscriptions = new Set<Subscription>();
  private scheduled = false;
  /** Messages delivered by subscriptions already removed (see delivered). */
  private retiredDelivered = 0;

  constructor(
    private readonly state: () => BrokerState,
    private readonly read: EntryReader,
    private readonly defer: (fn: () => void) => void,
  ) {}

  add(subscription: Subscription): void {
    this.subscriptions.add(subscription);
    subscription.pump(this.state(), this.read);
  }

  remove(subscription: Subscription): void {
    if (this.subscriptions.delete(subscription)) this.retiredDelivered += subscription.delivered;
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

  /** New entries were applied. */
  notify(): void {
    if (this.scheduled || this.subscriptions.size === 0) return;
    this.scheduled = true;
    this.defer(() => {
      this.scheduled = false;
      const state = this.state();
      for (const s of this.subscriptions) s.pump(state, this.read);
    });
  }
}
