import { forbidden } from "../auth/request-permission.ts";
import { MqraftError } from "../util/errors.ts";
import type { Logger } from "../util/log.ts";
import type { Connection, ServerInbound, StatusReply, UserRequest } from "../wire/index.ts";
import { type AdminRequest, answerAdmin } from "./admin-service.ts";
import { GroupSession } from "./group-session.ts";
import { type AdmissionHost, HelloAdmission } from "./hello-admission.ts";
import type { MembershipService } from "./membership-service.ts";
import { isRaftMessage } from "./peer-messages.ts";
import type { PublishOutcome, PublishSink } from "./publish-batcher.ts";
import { PublishFlow } from "./publish-flow.ts";
import type { ReadIndex } from "./read-index.ts";
import type { ReplicatedBroker } from "./replicated-broker.ts";
import { type Outgoing, SessionAnswers } from "./session-answers.ts";
import { SessionSubscriptions } from "./session-subscriptions.ts";
import type { SnapshotSaves } from "./snapshot-save.ts";
import { answerUserRequest } from "./user-admin.ts";

export { MAX_PUBLISH_BYTES_IN_FLIGHT, MAX_PUBLISHES_IN_FLIGHT } from "./publish-flow.ts";

/** What a session needs of the broker process that accepted it. */
export interface SessionHost extends AdmissionHost {
  readonly broker: ReplicatedBroker;
  readonly membership: MembershipService;
  isLeader(): boolean;
  readonly log: Logger;
  /** "host:port" of the leader, if one is known. */
  leaderAddress(): string | undefined;
  status(): Omit<StatusReply, "id">;
  now(): number;
  peerMessage(message: ServerInbound): void;
  /** The cluster's commit index, from the leader. */
  readonly readIndex: ReadIndex;
  /** With a cluster secret: proves that the broker joining at `address` as `nodeId` holds it (the leader dials it). */
  verifyJoiner?(nodeId: number, address: string): Promise<void>;
  /** `mqraft snapshot save` (snapshot-save.ts); a host without it answers UNAVAILABLE. */
  readonly snapshotSaves?: SnapshotSaves;
}

type Publish = Extract<ServerInbound, { type: "publish" }>;

/**
 * One accepted connection: once admitted (hello-admission.ts) it is a peer broker (Raft traffic, handed on) or a
 * client (publish, subscribe, ack, unsubscribe, status, admin). A refused request is answered with an error carrying
 * its id; the connection stays open.
 */
export class ClientSession implements PublishSink {
  private readonly admission: HelloAdmission;
  private readonly answers: SessionAnswers;
  private readonly subscriptions: SessionSubscriptions;
  private readonly flow: PublishFlow;
  private readonly groups: GroupSession;

  constructor(
    private readonly host: SessionHost,
    private readonly connection: Connection<ServerInbound, Outgoing>,
  ) {
    this.admission = new HelloAdmission(host, connection);
    this.answers = new SessionAnswers(connection, () => host.leaderAddress());
    this.subscriptions = new SessionSubscriptions(host, connection, this.answers);
    this.flow = new PublishFlow(connection);
    connection.onMessage = (m) => this.receive(m);
    this.groups = new GroupSession({
      broker: host.broker,
      isLeader: () => host.isLeader(),
      now: () => host.now(),
      send: (message) => connection.send(message),
      isOpen: () => connection.isOpen,
      nextSubscription: () => this.subscriptions.allocateId(),
      answerError: (id, e) => this.answers.error(id, e),
    });
    connection.onClose = (reason) => {
      this.subscriptions.closeAll();
      this.admission.closed();
      this.groups.closed();
      if (reason?.code === "SLOW_CONSUMER") host.log.warn(`Disconnected a slow consumer: ${reason.message}`);
    };
  }

  private receive(m: ServerInbound): void {
    const stage = this.admission.stage;
    if (stage === "peer") return this.host.peerMessage(m);
    if (stage !== "client" || m.type === "hello") return this.admission.receive(m);
    if (isRaftMessage(m))
      return this.refuse(
        new MqraftError(
          "BAD_MESSAGE",
          `${(m as { type: string }).type} is a broker-to-broker message; a client sent it`,
        ),
      );
    const principal = this.admission.principal;
    if (principal !== undefined && m.type !== "error" && m.type !== "proof") {
      const refused = forbidden(principal, m);
      if (refused !== undefined) return this.answers.error(m.id, refused);
    }
    switch (m.type) {
      case "error":
        this.host.log.debug(`Client ${this.connection.remoteAddress} reported ${m.code}: ${m.message}`);
        return;
      case "publish":
        return this.publish(m);
      case "register":
        return void this.host.broker
          .propose({
            type: "register",
            time: this.host.now(),
            producer: m.producer,
            ...(m.session === undefined ? {} : { session: m.session }),
          })
          .then(
            (r) =>
              r.type === "register"
                ? this.connection.send({ type: "registered", id: m.id, producer: r.producer, epoch: r.epoch })
                : this.answers.result(m.id, r),
            (e) => this.answers.error(m.id, e),
          );
      case "subscribe":
        return void this.subscriptions.subscribe(m).catch((e) => this.answers.error(m.id, e));
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
            (r) => this.answers.result(m.id, r),
            (e) => this.answers.error(m.id, e),
          );
      case "unsubscribe":
        if (this.groups.unsubscribe(m.id, m.subscription)) return;
        return void this.subscriptions
          .unsubscribe(m.id, m.subscription, m.remove ?? false)
          .catch((e) => this.answers.error(m.id, e));
      case "status": {
        const reply = { ...this.host.status(), id: m.id };
        const topic = m.topic;
        if (topic === undefined) return void this.connection.send(reply);
        const count = this.host.broker.feed.subscribers(topic);
        const nodes = reply.nodes.map((n) => (n.id === this.host.nodeId ? { ...n, subscribers: count } : n));
        return void this.connection.send({ ...reply, nodes });
      }
      case "readIndex":
        try {
          return void this.connection.send({ type: "readIndex", id: m.id, index: this.host.readIndex.answer() });
        } catch (e) {
          return this.answers.error(m.id, e);
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
      case "add-user":
      case "remove-user":
      case "rotate-user":
      case "list-users":
        return this.userAdmin(m);
      case "snapshot-read":
        return void this.leaderOnly(() => {
          if (this.host.snapshotSaves === undefined) throw new MqraftError("UNAVAILABLE", "this broker cannot save");
          return this.host.snapshotSaves.read(m);
        }).then(
          (reply) => this.connection.send(reply),
          (e) => this.answers.error(m.id, e),
        );
      case "consume":
      case "group-ack":
      case "list-groups":
      case "remove-group":
        return this.groups.receive(m);
      default: {
        const never: never = m;
        return this.refuse(new MqraftError("BAD_MESSAGE", `unexpected ${(never as { type: string }).type}`));
      }
    }
  }

  private publish(m: Publish): void {
    // the batcher keeps only these numbers for the outcome: `m.data` is a view into the received bytes, and holding
    // it until the outcome would keep the whole receive buffer alive
    const { id } = m;
    if (
      (m.epoch !== undefined && (m.producer === undefined || m.seq === undefined || m.epoch < 1)) ||
      (m.low !== undefined && (m.epoch === undefined || m.low > (m.seq ?? 0)))
    ) {
      return this.answers.error(
        id,
        new MqraftError(
          "BAD_MESSAGE",
          "publish.epoch needs producer and seq and is at least 1 (from registered); publish.low needs epoch and is at most seq",
        ),
      );
    }
    const bytes = m.data.length;
    this.flow.started(bytes);
    this.host.broker.publishTo(publishCommand(m), this, id, bytes);
  }

  /** A publish's outcome (PublishSink): the session is told its request id and size, and holds nothing per publish. */
  publishSettled(id: number, bytes: number, outcome: PublishOutcome): void {
    this.flow.settled(bytes);
    if (outcome instanceof MqraftError) return this.answers.error(id, outcome);
    if (outcome.type !== "publish") return this.answers.result(id, outcome);
    this.connection.send(
      outcome.duplicate
        ? { type: "published", id, topic: outcome.topic, offset: outcome.offset, duplicate: true }
        : { type: "published", id, topic: outcome.topic, offset: outcome.offset },
    );
  }

  /** Runs a request only the leader serves, answering `ok` when it resolves or an error with the request's id. */
  private onLeader(id: number, work: () => Promise<void>): void {
    void this.leaderOnly(work).then(
      () => this.connection.send({ type: "ok", id }),
      (e) => this.answers.error(id, e),
    );
  }

  /** Admin requests (admin-service.ts), answered by the leader only, so that they see and change the current state. */
  private admin(m: AdminRequest): void {
    void this.leaderOnly(() =>
      answerAdmin(
        { state: () => this.host.broker.state, propose: (c) => this.host.broker.propose(c), now: this.host.now },
        m,
      ),
    ).then(
      (reply) => this.connection.send(reply),
      (e) => this.answers.error(m.id, e),
    );
  }

  /** `mqraft user ...` (user-admin.ts), on the leader only, as the other admin requests. */
  private userAdmin(m: UserRequest): void {
    void this.leaderOnly(() =>
      answerUserRequest(
        {
          users: () => this.host.broker.state.users,
          propose: (c) => this.host.broker.propose(c),
          now: this.host.now,
        },
        m,
      ),
    ).then(
      (reply) => this.connection.send(reply),
      (e) => this.answers.error(m.id, e),
    );
  }

  private leaderOnly<T>(work: () => Promise<T>): Promise<T> {
    return Promise.resolve().then(() => {
      if (!this.host.isLeader()) throw new MqraftError("NOT_LEADER", "this broker is not the leader");
      return work();
    });
  }

  private refuse(error: MqraftError): void {
    this.connection.close(error);
  }
}

/** The broker's publish input: the producer fields only as far as the client sent them, and headers when there are. */
function publishCommand(m: Publish): Parameters<ReplicatedBroker["publish"]>[0] {
  const message = producerFields(m);
  if (m.headers !== undefined && m.headers.length > 0) message.headers = m.headers;
  if (m.ttl !== undefined) message.ttl = m.ttl;
  return message;
}

function producerFields(m: Publish): Parameters<ReplicatedBroker["publish"]>[0] {
  const { topic, data } = m;
  if (m.producer === undefined || m.seq === undefined) return { topic, data };
  const { producer, seq } = m;
  if (m.epoch === undefined) return { topic, data, producer, seq };
  if (m.low === undefined) return { topic, data, producer, seq, epoch: m.epoch };
  return { topic, data, producer, seq, epoch: m.epoch, low: m.low };
}
