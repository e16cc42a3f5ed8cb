import { MqraftError } from "../../src/util/errors.ts";
import {
  type Connection,
  type Delivery,
  type ErrorMessage,
  type Ok,
  PROTOCOL_VERSION,
  type Published,
  type Registered,
  type ServerInbound,
  type StatusReply,
  type Subscribe,
  type Subscribed,
  type Welcome,
} from "../../src/wire/index.ts";
import type { FakeCluster } from "./fake-cluster.ts";

const PUSH_CHUNK = 200;

export type Outgoing = Welcome | ErrorMessage | Published | Registered | Subscribed | Delivery | Ok | StatusReply;

interface LiveSubscription {
  /** Next offset to push, per topic. */
  next: Map<string, number>;
  durable: string | undefined;
}

/** One client connection to a fake node: the broker side of the client protocol. */
export class FakeSession {
  private readonly subscriptions = new Map<number, LiveSubscription>();
  private nextSubscription = 1;
  private greeted = false;
  private outstanding = 0;
  private pumping = false;

  constructor(
    private readonly cluster: FakeCluster,
    private readonly nodeId: number,
    private readonly connection: Connection<ServerInbound, Outgoing>,
  ) {
    connection.onMessage = (message) => this.receive(message);
  }

  drop(): void {
    this.connection.close();
  }

  /** A message was stored: streams of this connection that have caught up go on. */
  stored(): void {
    if (this.pumping || this.subscriptions.size === 0) return;
    this.pumping = true;
    void this.pump().finally(() => {
      this.pumping = false;
    });
  }

  /**
   * Pushes what each stream has not yet received, a chunk per turn and no faster than the client reads, like a
   * broker that streams from its log: at any time most of a backlog is still in the log, not in the socket, so a
   * dropped connection really cuts a stream in the middle.
   */
  private async pump(): Promise<void> {
    for (;;) {
      let sent = 0;
      for (const [id, subscription] of this.subscriptions) {
        for (const [topic, next] of subscription.next) {
          const messages = this.cluster.log.get(topic) ?? [];
          let offset = next;
          for (; offset < messages.length && sent < PUSH_CHUNK; offset++, sent++) {
            this.connection.send({
              type: "message",
              subscription: id,
              topic,
              offset,
              data: messages[offset] as Uint8Array<ArrayBuffer>,
            });
          }
          subscription.next.set(topic, offset);
        }
      }
      if (sent === 0 || !this.connection.isOpen) return;
      await new Promise((resolve) => setImmediate(resolve));
      if (this.connection.queuedBytes > 0) await this.connection.writable().catch(() => {});
    }
  }

  private get isLeader(): boolean {
    return this.nodeId === this.cluster.leader;
  }

  private receive(message: ServerInbound): void {
    this.cluster.received.set(message.type, this.cluster.count(message.type) + 1);
    if (message.type === "hello") {
      this.greeted = true;
      const known = this.cluster.leaderOf(this.nodeId);
      const leader = known === 0 ? {} : { leader: known };
      const limit = this.cluster.maxFrameBytes === undefined ? {} : { maxFrameBytes: this.cluster.maxFrameBytes };
      this.connection.send({
        type: "welcome",
        version: PROTOCOL_VERSION,
        nodeId: this.nodeId,
        members: this.cluster.members(),
        ...leader,
        ...limit,
      });
      return;
    }
    if (!this.greeted) return this.connection.close(new MqraftError("BAD_MESSAGE", "expected hello first"));
    switch (message.type) {
      case "error":
        return;
      case "publish":
        return this.publish(message.id, message.topic, message.data, message.producer, message.seq, message.epoch);
      case "register":
        if (!this.isLeader) return this.notLeader(message.id);
        return void this.connection.send({
          type: "registered",
          id: message.id,
          producer: message.producer,
          epoch: this.cluster.register(),
        });
      case "subscribe":
        return this.subscribe(message);
      case "ack": {
        if (!this.isLeader) return this.notLeader(message.id);
        const durable = this.cluster.durables.get(message.durable);
        if (durable === undefined)
          return this.refuse(message.id, "NOT_FOUND", `no durable subscription ${message.durable}`);
        const position = durable.positions.get(message.topic) ?? 0;
        durable.positions.set(message.topic, Math.max(position, message.offset + 1));
        return void this.connection.send({ type: "ok", id: message.id });
      }
      case "unsubscribe": {
        const subscription = this.subscriptions.get(message.subscription);
        if (subscription === undefined)
          return this.refuse(message.id, "NOT_FOUND", `no subscription ${message.subscription}`);
        if (message.remove === true && subscription.durable !== undefined) {
          if (!this.isLeader) return this.notLeader(message.id);
          this.cluster.durables.delete(subscription.durable);
        }
        this.subscriptions.delete(message.subscription);
        return void this.connection.send({ type: "ok", id: message.id });
      }
      case "status":
        return void this.connection.send({
          type: "status",
          id: message.id,
          leader: this.cluster.leader,
          term: this.cluster.term,
          nodes: this.cluster.nodeStatus(),
        });
    }
  }

  private publish(id: number, topic: string, data: Uint8Array, producer?: string, seq?: number, epoch?: number): void {
    if (!this.isLeader) return this.notLeader(id);
    const node = this.cluster.node(this.nodeId);
    const stored = this.cluster.store(topic, data, producer, seq, epoch);
    this.outstanding++;
    this.cluster.maxOutstanding = Math.max(this.cluster.maxOutstanding, this.outstanding);
    if (node.answered >= node.answerLimit) return;
    node.answered++;
    const answer = (): void => {
      this.outstanding--;
      this.connection.send({
        type: "published",
        id,
        topic: stored.topic,
        offset: stored.offset,
        ...(stored.duplicate ? { duplicate: true } : {}),
      });
    };
    if (this.cluster.commitDelayMs > 0) setTimeout(answer, this.cluster.commitDelayMs);
    else answer();
  }

  private subscribe(message: Subscribe): void {
    let durable = message.durable === undefined ? undefined : this.cluster.durables.get(message.durable);
    if (message.durable !== undefined && durable === undefined) {
      if (!this.isLeader) return this.notLeader(message.id);
      durable = { topics: message.topics, positions: new Map(message.topics.map((t) => [t, this.start(t, message)])) };
      this.cluster.durables.set(message.durable, durable);
    }
    const positions = new Map<string, number>();
    const ends: [string, number][] = [];
    const asked = new Map(message.positions ?? []);
    for (const topic of message.topics) {
      ends.push([topic, this.cluster.nextOffset(topic)]);
      positions.set(topic, asked.get(topic) ?? durable?.positions.get(topic) ?? this.start(topic, message));
    }
    const id = this.nextSubscription++;
    this.connection.send({
      type: "subscribed",
      id: message.id,
      subscription: id,
      positions: [...positions],
      ends,
    });
    this.subscriptions.set(id, { next: new Map(positions), durable: message.durable });
    this.stored();
  }

  private start(topic: string, message: Subscribe): number {
    const next = this.cluster.nextOffset(topic);
    if (message.from === "earliest") return 0;
    if (message.from === "latest") return next;
    // the fake keeps no times: every message it holds counts as stored before any time asked for
    if (typeof message.from === "object") return next;
    return Math.min(message.from, next);
  }

  private notLeader(id: number): void {
    const known = this.cluster.leaderOf(this.nodeId);
    const leader = known === 0 ? undefined : this.cluster.node(known).address;
    this.connection.send({
      type: "error",
      id,
      code: "NOT_LEADER",
      message: `node ${this.nodeId} is not the leader`,
      ...(leader === undefined ? {} : { leader }),
    });
  }

  private refuse(id: number, code: ErrorMessage["code"], text: string): void {
    this.connection.send({ type: "error", id, code, message: text });
  }
}
