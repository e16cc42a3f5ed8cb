import type { MqraftError } from "../util/errors.ts";
import { now } from "./deadline.ts";
import type { LeaderLink } from "./leader-link.ts";

interface Waiter {
  offset: number;
  resolve: () => void;
  reject: (error: MqraftError) => void;
}

interface TopicAcks {
  /** Highest offset the cluster has confirmed; -1 before the first. */
  confirmed: number;
  /** The offset of the ack on the wire, if one is. */
  sending: number | undefined;
  /** Highest offset asked for. */
  wanted: number;
  waiters: Waiter[];
}

/**
 * Acks of one durable subscription, sent to the leader. An ack moves the subscription's position to `offset + 1`
 * and the position only moves forward, so while one ack per topic is on the wire the later ones only raise the
 * offset to send next: a consumer that acks every message costs one replicated command per round trip, not one
 * per message.
 */
export class DurableAcks {
  private readonly topics = new Map<string, TopicAcks>();
  /** Who this client is to the durable subscription (sent with its subscribes): an ack after a takeover is FENCED. */
  readonly holder =
    `h-${Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, "0")).join("")}`;

  constructor(
    private readonly link: LeaderLink,
    private readonly durable: string,
    private readonly timeoutMs: number,
  ) {}

  /** Resolves once the cluster has recorded an ack at or above `offset` for `topic`. */
  ack(topic: string, offset: number): Promise<void> {
    let acks = this.topics.get(topic);
    if (acks === undefined) {
      acks = { confirmed: -1, sending: undefined, wanted: -1, waiters: [] };
      this.topics.set(topic, acks);
    }
    if (offset <= acks.confirmed) return Promise.resolve();
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    acks.waiters.push({ offset, resolve, reject });
    acks.wanted = Math.max(acks.wanted, offset);
    if (acks.sending === undefined) this.send(topic, acks);
    return promise;
  }

  private send(topic: string, acks: TopicAcks): void {
    const offset = acks.wanted;
    acks.sending = offset;
    const deadline = now() + this.timeoutMs;
    const settle = (error: MqraftError | undefined): void => {
      acks.sending = undefined;
      if (error === undefined) acks.confirmed = Math.max(acks.confirmed, offset);
      const covered = acks.waiters.filter((w) => w.offset <= offset);
      acks.waiters = acks.waiters.filter((w) => w.offset > offset);
      for (const waiter of covered) {
        if (error === undefined) waiter.resolve();
        else waiter.reject(error);
      }
      if (acks.waiters.length > 0) this.send(topic, acks);
    };
    this.link
      .call(deadline, (channel) =>
        channel.ask({ type: "ack", durable: this.durable, topic, offset, holder: this.holder }),
      )
      .then(
        () => settle(undefined),
        (e: MqraftError) => settle(e),
      );
  }
}
