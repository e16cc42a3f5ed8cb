import type { ClusterAuth } from "../auth/peer-handshake.ts";
import { AccepterHandshake } from "../auth/peer-handshake.ts";
import { MANAGER_IDENTITY, nodeIdentity } from "../auth/peer-proof.ts";
import type { ApplyResult } from "../broker/results.ts";
import { assert } from "../util/assert.ts";
import { describeError, isMqraftError, MqraftError } from "../util/errors.ts";
import type { Logger } from "../util/log.ts";
import type { ReadIndexReply, StatusReply } from "../wire/index.ts";
import {
  type Connection,
  helloError,
  type ServerInbound,
  type Subscribe,
  type Welcome,
  type Message as WireMessage,
} from "../wire/index.ts";
import { type AdminRequest, answerAdmin } from "./admin-service.ts";
import type { FoundingPeers } from "./founding-peers.ts";
import type { MembershipService } from "./membership-service.ts";
import { isRaftMessage } from "./peer-messages.ts";
import type { PublishOutcome } from "./publish-batcher.ts";
import type { ReadIndex } from "./read-index.ts";
import type { ReplicatedBroker } from "./replicated-broker.ts";
import { Subscription } from "./subscription-feed.ts";

/** What a session needs of the broker process that accepted it. */
export interface SessionHost {
  readonly broker: ReplicatedBroker;
  readonly membership: MembershipService;
  isLeader(): boolean;
  readonly log: Logger;
  welcome(): Welcome;
  /** "host:port" of the leader, if one is known. */
  leaderAddress(): string | undefined;
  status(): Omit<StatusReply, "id">;
  now(): number;
  adoptPeer(id: number, connection: Connection<ServerInbound, unknown>): void;
  /** This broker's founding configuration, if it is a founding member. */
  founding: FoundingPeers;
  peerMessage(message: ServerInbound): void;
  /** The cluster's commit index, from the leader. */
  readonly readIndex: ReadIndex;
  /** This broker's id, which its cluster-secret proofs are bound to. */
  readonly nodeId: number;
  /** Set with --cluster-secret-file: peers and managers must prove the secret before anything else. */
  readonly clusterAuth?: ClusterAuth;
  /** With a cluster secret: proves that the broker joining at `address` as `nodeId` holds it (the leader dials it). */
  verifyJoiner?(nodeId: number, address: string): Promise<void>;
}

type HelloMessage = Extract<ServerInbound, { type: "hello" }>;

/** How long a subscribe waits for this broker to apply what the leader has committed. */
const CATCH_UP_TIMEOUT_MS = 5_000;

type Outgoing = WireMessage | StatusReply | ReadIndexReply;

/**
 * Publishes of one connection waiting for their outcome, by count and payload bytes (docs/memory.md). Past either the
 * session stops reading, so a client that pipelines more than the cluster commits waits in TCP instead of in the
 * broker's memory; it reads again once half are answered.
 */
export const MAX_PUBLISHES_IN_FLIGHT = 10_000;
export const MAX_PUBLISH_BYTES_IN_FLIGHT = 64 << 20;

/**
 * One accepted connection: the hello decides whether it is a peer broker (Raft traffic) or a
 * client (publish, subscribe, ack, unsubscribe, status). A refused request is answered with an
 * error carrying its id; the connection stays open.
 */
export class ClientSession {
  private mode: "new" | "proving" | "client" | "peer" = "new";
  /** While mode is "proving": the hello waiting for the dialer's proof of the cluster secret. */
  private proving: { handshake: AccepterHandshake; hello: HelloMessage } | undefined;
  private readonly subscriptions = new Map<number, Subscription>();
  private nextSubscription = 1;
  private publishesInFlight = 0;
  private publishBytesInFlight = 0;
  private pausedForPublishes = false;

  constructor(
    private readonly host: SessionHost,
    private readonly connection: Connection<ServerInbound, Outgoing>,
  ) {
    connection.onMessage = (m) => this.receive(m);
    connection.onClose = () => {
      for (const s of this.subscriptions.values()) this.host.broker.feed.remove(s);
      this.subscriptions.clear();
    };
  }

  private receive(m: ServerInbound): void {
    if (this.mode === "peer") return this.host.peerMessage(m);
    if (this.mode === "proving") return this.proved(m);
    if (m.type === "hello") return this.hello(m);
    if (this.mode === "new") return this.refuse(new MqraftError("BAD_MESSAGE", `expected hello first, got ${m.type}`));
    if (isRaftMessage(m))
      return this.refuse(
        new MqraftError(
          "BAD_MESSAGE",
          `${(m as { type: string }).type} is a broker-to-broker message; a client sent it`,
        ),
      );
    switch (m.type) {
      case "error":
        this.host.log.debug(`Client ${this.connection.remoteAddress} reported ${m.code}: ${m.message}`);
        return;
      case "publish":
        return this.publish(m);
      case "register":
        return void this.host.broker.propose({ type: "register", time: this.host.now(), producer: m.producer }).then(
          (r) =>
            r.type === "register"
              ? this.connection.send({ type: "registered", id: m.id, producer: r.producer, epoch: r.epoch })
              : this.answerResult(m.id, r),
          (e) => this.answerError(m.id, e),
        );
      case "subscribe":
        return void this.subscribe(m).catch((e) => this.answerError(m.id, e));
      case "ack":
        return void this.host.broker
          .propose({
            type: "ack",
            time: this.host.now(),
            name: m.durable,
            topic: m.topic,
            offset: m.offset,
            ...(m.holder === undefined ? {} : { holder: m.holder }),
          })
          .then(
            (r) => this.answerResult(m.id, r),
            (e) => this.answerError(m.id, e),
          );
      case "unsubscribe":
        return void this.unsubscribe(m.id, m.subscription, m.remove ?? false).catch((e) => this.answerError(m.id, e));
      case "status":
        return void this.connection.send({ ...this.host.status(), id: m.id });
      case "readIndex":
        try {
          return void this.connection.send({ type: "readIndex", id: m.id, index: this.host.readIndex.answer() });
        } catch (e) {
          return this.answerError(m.id, e);
        }
      case "retention":
        return this.onLeader(m.id, async () => {
          const r = await this.host.broker.propose({ type: "config", time: this.host.now(), retention: m.retention });
          if (r.type === "error") throw new MqraftError(r.code, r.message);
        });
      case "proof":
        return this.refuse(new MqraftError("BAD_MESSAGE", "proof sent without a cluster-secret challenge"));
      case "join":
        return this.onLeader(m.id, async () => {
          await this.host.verifyJoiner?.(m.nodeId, m.address);
          return this.host.membership.join(m.nodeId, m.address);
        });
      case "leave":
        return this.onLeader(m.id, () => this.host.membership.leave(m.nodeId));
      case "transfer":
        return this.onLeader(m.id, () => this.host.membership.transfer(m.to));
      case "list-topics":
      case "purge-topic":
      case "list-durables":
      case "remove-durable":
      case "seek-durable":
        return this.admin(m);
      default: {
        const never: never = m;
        return this.refuse(new MqraftError("BAD_MESSAGE", `unexpected ${(never as { type: string }).type}`));
      }
    }
  }

  private hello(m: HelloMessage): void {
    if (this.mode !== "new") return this.refuse(new MqraftError("BAD_MESSAGE", "hello sent twice"));
    const refused = helloError(m);
    if (refused) return this.refuse(refused);
    const auth = this.host.clusterAuth;
    if (auth !== undefined && (m.role === "peer" || m.role === "manager")) {
      if (m.role === "peer" && m.id === undefined)
        return this.refuse(new MqraftError("BAD_MESSAGE", "a peer hello must carry the broker's id"));
      const dialer = m.role === "peer" ? nodeIdentity(m.id as number) : MANAGER_IDENTITY;
      const handshake = AccepterHandshake.start(auth.secret, m.nonce, dialer, nodeIdentity(this.host.nodeId));
      if (handshake instanceof MqraftError) return this.unauthenticated(auth, handshake);
      this.mode = "proving";
      this.proving = { handshake, hello: m };
      this.connection.send(handshake.challenge());
      return;
    }
    this.admit(m);
  }

  /** The message after the challenge: only the dialer's valid proof lets the hello through. */
  private proved(m: ServerInbound): void {
    const { clusterAuth } = this.host;
    const proving = this.proving;
    assert(proving !== undefined && clusterAuth !== undefined, "a session proving the cluster secret has a handshake");
    if (m.type === "error") {
      // the dialer found this node's proof wrong: say what it said, as nobody else will
      clusterAuth.refusals.refused(this.connection.remoteAddress, `A node refused this one's proof: ${m.message}`);
      return this.connection.close();
    }
    const error = proving.handshake.verify(m);
    if (error !== undefined) return this.unauthenticated(clusterAuth, error);
    this.proving = undefined;
    this.mode = "new";
    this.admit(proving.hello);
  }

  private unauthenticated(auth: ClusterAuth, error: MqraftError): void {
    auth.refusals.refused(this.connection.remoteAddress, `Refused a node: ${error.message}`);
    this.refuse(error);
  }

  /** A hello that may go on (authenticated when the cluster has a secret): a peer link, or a client. */
  private admit(m: HelloMessage): void {
    if (m.role === "peer") {
      if (m.id === undefined)
        return this.refuse(new MqraftError("BAD_MESSAGE", "a peer hello must carry the broker's id"));
      const own = this.host.founding;
      if (m.founding !== undefined && own !== undefined && m.founding !== own) {
        return this.refuse(
          new MqraftError(
            "REFUSED",
            `node ${m.id} was founded with --peers ${m.founding}, this broker with --peers ${own}: every founding broker needs the same --peers`,
          ),
        );
      }
      this.mode = "peer";
      this.host.adoptPeer(m.id, this.connection);
      return;
    }
    this.mode = "client";
    this.connection.send(this.host.welcome());
  }

  private publish(m: Extract<ServerInbound, { type: "publish" }>): void {
    // the callback keeps only these numbers: `m.data` is a view into the received bytes, and holding it until the
    // outcome would keep the whole receive buffer alive
    const { id } = m;
    if (
      (m.epoch !== undefined && (m.producer === undefined || m.seq === undefined || m.epoch < 1)) ||
      (m.low !== undefined && (m.epoch === undefined || m.low > (m.seq ?? 0)))
    ) {
      return this.answerError(
        id,
        new MqraftError(
          "BAD_MESSAGE",
          "publish.epoch needs producer and seq and is at least 1 (from registered); publish.low needs epoch and is at most seq",
        ),
      );
    }
    const bytes = m.data.length;
    this.publishesInFlight++;
    this.publishBytesInFlight += bytes;
    this.host.broker.publish(
      m.producer === undefined || m.seq === undefined
        ? { topic: m.topic, data: m.data }
        : m.epoch === undefined
          ? { topic: m.topic, data: m.data, producer: m.producer, seq: m.seq }
          : m.low === undefined
            ? { topic: m.topic, data: m.data, producer: m.producer, seq: m.seq, epoch: m.epoch }
            : { topic: m.topic, data: m.data, producer: m.producer, seq: m.seq, epoch: m.epoch, low: m.low },
      (outcome) => {
        this.publishesInFlight--;
        this.publishBytesInFlight -= bytes;
        if (
          this.pausedForPublishes &&
          this.publishesInFlight <= MAX_PUBLISHES_IN_FLIGHT / 2 &&
          this.publishBytesInFlight <= MAX_PUBLISH_BYTES_IN_FLIGHT / 2
        ) {
          this.pausedForPublishes = false;
          this.connection.resume();
        }
        this.published(id, outcome);
      },
    );
    if (
      !this.pausedForPublishes &&
      (this.publishesInFlight >= MAX_PUBLISHES_IN_FLIGHT || this.publishBytesInFlight >= MAX_PUBLISH_BYTES_IN_FLIGHT)
    ) {
      this.pausedForPublishes = true;
      this.connection.pause();
    }
  }

  private published(id: number, outcome: PublishOutcome): void {
    if (outcome instanceof MqraftError) return this.answerError(id, outcome);
    if (outcome.type === "publish") {
      this.connection.send(
        outcome.duplicate
          ? { type: "published", id, topic: outcome.topic, offset: outcome.offset, duplicate: true }
          : { type: "published", id, topic: outcome.topic, offset: outcome.offset },
      );
    } else this.answerResult(id, outcome);
  }

  private async subscribe(m: Subscribe): Promise<void> {
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
      if (r.type !== "subscribe") return this.answerResult(m.id, r);
      durablePositions = new Map(r.positions.map((p) => [p.topic, p.position]));
    }
    // "Everything committed when it subscribed" is the leader's commit index, not what this broker has
    // applied: a follower that was paused or cut off may be far behind (a read index)
    const { readIndex } = this.host;
    const committed = await readIndex.commitIndex();
    await this.host.broker.feed.whenApplied(committed, () => readIndex.appliedIndex, CATCH_UP_TIMEOUT_MS);
    // Maps, never plain objects: a topic may be named `constructor` or `__proto__`
    const asked = new Map(m.positions ?? []);
    const state = this.host.broker.state;
    const positions = new Map<string, number>();
    const starts: [string, number][] = [];
    const ends: [string, number][] = [];
    for (const topic of new Set(m.topics)) {
      const info = state.topicInfo(topic);
      const first = info?.firstOffset ?? 0;
      const next = info?.nextOffset ?? 0;
      const start =
        asked.get(topic) ??
        durablePositions?.get(topic) ??
        (m.from === "earliest" ? first : m.from === "latest" ? next : m.from);
      // a start below the retained messages is announced to the client as a gap before the first message
      positions.set(topic, start);
      starts.push([topic, Math.max(start, first)]);
      ends.push([topic, next]);
    }
    const id = this.nextSubscription++;
    const subscription = new Subscription(id, positions, this.connection, m.durable, (s) => this.ended(s), holder);
    this.subscriptions.set(id, subscription);
    this.connection.send({ type: "subscribed", id: m.id, subscription: id, positions: starts, ends });
    this.host.broker.feed.add(subscription);
  }

  /** The broker ended a stream by itself (it could not go on serving it); the client was told with `ended`. */
  private ended(subscription: Subscription): void {
    this.subscriptions.delete(subscription.id);
    this.host.log.warn(`Subscription ${subscription.id} of ${this.connection.remoteAddress} ended by the broker`);
  }

  private async unsubscribe(id: number, subscriptionId: number, remove: boolean): Promise<void> {
    const subscription = this.subscriptions.get(subscriptionId);
    if (subscription === undefined)
      throw new MqraftError("NOT_FOUND", `no subscription ${subscriptionId} on this connection`);
    this.subscriptions.delete(subscriptionId);
    this.host.broker.feed.remove(subscription);
    if (remove && subscription.durable !== undefined) {
      const r = await this.host.broker.propose({
        type: "unsubscribe",
        time: this.host.now(),
        name: subscription.durable,
      });
      if (r.type === "error") return this.answerResult(id, r);
    }
    this.connection.send({ type: "ok", id });
  }

  /** Runs a request only the leader serves, answering `ok` when it resolves or an error with the request's id. */
  private onLeader(id: number, work: () => Promise<void>): void {
    void Promise.resolve()
      .then(() => {
        if (!this.host.isLeader()) throw new MqraftError("NOT_LEADER", "this broker is not the leader");
        return work();
      })
      .then(
        () => this.connection.send({ type: "ok", id }),
        (e) => this.answerError(id, e),
      );
  }

  /** Admin requests (admin-service.ts), answered by the leader only, so that they see and change the current state. */
  private admin(m: AdminRequest): void {
    void Promise.resolve()
      .then(() => {
        if (!this.host.isLeader()) throw new MqraftError("NOT_LEADER", "this broker is not the leader");
        return answerAdmin(
          { state: () => this.host.broker.state, propose: (c) => this.host.broker.propose(c), now: this.host.now },
          m,
        );
      })
      .then(
        (reply) => this.connection.send(reply),
        (e) => this.answerError(m.id, e),
      );
  }

  private answerResult(id: number, r: ApplyResult): void {
    if (r.type === "error") this.connection.send({ type: "error", id, code: r.code, message: r.message });
    else this.connection.send({ type: "ok", id });
  }

  private answerError(id: number, e: unknown): void {
    const error = isMqraftError(e) ? e : new MqraftError("INTERNAL", describeError(e));
    const leader = error.code === "NOT_LEADER" ? this.host.leaderAddress() : undefined;
    this.connection.send(
      leader === undefined
        ? { type: "error", id, code: error.code, message: error.message }
        : { type: "error", id, code: error.code, message: error.message, leader },
    );
  }

  private refuse(error: MqraftError): void {
    this.connection.close(error);
  }
}

function randomHex(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
}
