import { MqraftError } from "../util/errors.ts";
import type { Logger } from "../util/log.ts";
import type { Connection, ServerInbound, Subscribe } from "../wire/index.ts";
import type { ReadIndex } from "./read-index.ts";
import type { ReplicatedBroker } from "./replicated-broker.ts";
import type { Outgoing, SessionAnswers } from "./session-answers.ts";
import { streamStart } from "./subscribe-positions.ts";
import { Subscription } from "./subscription-feed.ts";

/**
 * Streams one connection may have open (or starting) at once: each holds positions and a place in the feed's pump,
 * so a client must not be able to open them without end. A client that needs more opens more connections, which
 * --max-connections bounds.
 */
export const MAX_SUBSCRIPTIONS_PER_CONNECTION = 1_000;

/** How long a subscribe waits for this broker to apply what the leader has committed. */
const CATCH_UP_TIMEOUT_MS = 5_000;

/** What a connection's subscriptions need of the broker. */
export interface SubscriptionHost {
  readonly broker: ReplicatedBroker;
  /** The cluster's commit index, from the leader. */
  readonly readIndex: ReadIndex;
  readonly log: Logger;
  now(): number;
}

/** The streams one client connection has open: subscribe, unsubscribe, and their end when the connection closes. */
export class SessionSubscriptions {
  private readonly open = new Map<number, Subscription>();
  private nextId = 1;
  /** Subscribes accepted and not yet answered: they count against the cap as the open ones do. */
  private starting = 0;

  constructor(
    private readonly host: SubscriptionHost,
    private readonly connection: Connection<ServerInbound, Outgoing>,
    private readonly answers: SessionAnswers,
  ) {}

  /** A subscription id of this connection for a stream served elsewhere (a consumer group's member). */
  allocateId(): number {
    return this.nextId++;
  }

  async subscribe(m: Subscribe): Promise<void> {
    if (this.open.size + this.starting >= MAX_SUBSCRIPTIONS_PER_CONNECTION)
      throw new MqraftError(
        "REFUSED",
        `this connection has ${MAX_SUBSCRIPTIONS_PER_CONNECTION} subscriptions open, the most one may have: unsubscribe one, or subscribe to several topics at once`,
      );
    this.starting++;
    try {
      await this.start(m);
    } finally {
      this.starting--;
    }
  }

  private async start(m: Subscribe): Promise<void> {
    let durablePositions: Map<string, number> | undefined;
    // one holder per durable subscription: a client that names none (an older one) gets one per request
    const holder = m.durable === undefined ? undefined : (m.holder ?? `anonymous-${randomHex(8)}`);
    if (m.durable !== undefined) {
      const r = await this.host.broker.propose({
        type: "subscribe",
        time: this.host.now(),
        name: m.durable,
        topics: m.topics,
        from: m.from,
        ...(holder === undefined ? {} : { holder }),
      });
      if (r.type !== "subscribe") return this.answers.result(m.id, r);
      durablePositions = new Map(r.positions.map((p) => [p.topic, p.position]));
    }
    // "Everything committed when it subscribed" is the leader's commit index, not what this broker has
    // applied: a follower that was paused or cut off may be far behind (a read index)
    const { readIndex } = this.host;
    const committed = await readIndex.commitIndex();
    await this.host.broker.feed.whenApplied(committed, () => readIndex.appliedIndex, CATCH_UP_TIMEOUT_MS);
    const state = this.host.broker.state;
    const { positions, starts, ends, patterns } = streamStart(state, m, durablePositions);
    const id = this.nextId++;
    const subscription = new Subscription(id, positions, this.connection, m.durable, (s) => this.ended(s), holder);
    // topics created from here on that match a pattern join the stream (subscription-feed.ts)
    if (patterns.length > 0) subscription.watch(patterns, state.topicCount);
    this.open.set(id, subscription);
    this.connection.send({ type: "subscribed", id: m.id, subscription: id, positions: starts, ends });
    this.host.broker.feed.add(subscription);
  }

  async unsubscribe(id: number, subscriptionId: number, remove: boolean): Promise<void> {
    const subscription = this.open.get(subscriptionId);
    if (subscription === undefined)
      throw new MqraftError("NOT_FOUND", `no subscription ${subscriptionId} on this connection`);
    this.open.delete(subscriptionId);
    this.host.broker.feed.remove(subscription);
    if (remove && subscription.durable !== undefined) {
      const r = await this.host.broker.propose({
        type: "unsubscribe",
        time: this.host.now(),
        name: subscription.durable,
      });
      if (r.type === "error") return this.answers.result(id, r);
    }
    this.connection.send({ type: "ok", id });
  }

  /** The connection closed: its streams stop. */
  closeAll(): void {
    for (const s of this.open.values()) this.host.broker.feed.remove(s);
    this.open.clear();
  }

  /** The broker ended a stream by itself (it could not go on serving it); the client was told with `ended`. */
  private ended(subscription: Subscription): void {
    this.open.delete(subscription.id);
    this.host.log.warn(`Subscription ${subscription.id} of ${this.connection.remoteAddress} ended by the broker`);
  }
}

function randomHex(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
}
