import { rangesTotal } from "../broker/groups/groups.ts";
import { describeError, isMqraftError, MqraftError } from "../util/errors.ts";
import { MAX_SETTLES_PER_ACK } from "../util/group-fields.ts";
import type {
  Consume,
  GroupAck,
  GroupList,
  GroupMessage,
  GroupMessages,
  GroupPing,
  GroupRun,
  ListGroups,
  Message,
  RemoveGroup,
} from "../wire/index.ts";
import type { GroupConsumer } from "./group-consumer.ts";
import { DEFAULT_ACK_WAIT_MS } from "./group-service.ts";
import { listGroups } from "./group-summary.ts";
import type { ReplicatedBroker } from "./replicated-broker.ts";

export type GroupRequest = Consume | GroupAck | ListGroups | RemoveGroup;

/** Group members one connection serves at most. */
export const MAX_CONSUMERS_PER_CONNECTION = 1000;
/** Settles one connection has waiting for their commit at most (the client library has at most maxPending each). */
export const MAX_SETTLES_IN_FLIGHT = 100_000;

/** What the group requests of one client connection need of it. */
export interface GroupSessionHost {
  readonly broker: ReplicatedBroker;
  isLeader(): boolean;
  now(): number;
  /** Sends an answer or a push; false once the connection is closing. */
  send(message: Message): boolean;
  isOpen(): boolean;
  /** A new subscription id of this connection (shared with its plain subscriptions). */
  nextSubscription(): number;
  /** Answers request `id` with an error (NOT_LEADER carries the leader's address). */
  answerError(id: number, error: unknown): void;
}

/** The consumer-group requests of one client connection, and the members it serves (group-service.ts). */
export class GroupSession {
  private readonly consumers = new Map<number, GroupConsumer>();
  private settlesInFlight = 0;

  constructor(private readonly host: GroupSessionHost) {}

  receive(m: GroupRequest): void {
    switch (m.type) {
      case "consume":
        return void this.consume(m).catch((e) => this.host.answerError(m.id, e));
      case "group-ack":
        return void this.settle(m).then(
          (refused) => this.host.send({ type: "group-acked", id: m.id, refused }),
          (e) => this.host.answerError(m.id, e),
        );
      case "list-groups":
        return this.onLeader(m.id, async () => {
          const groups = listGroups(this.host.broker.state, m.name);
          const reply: GroupList = { type: "group-list", id: m.id, groups };
          this.host.send(reply);
        });
      case "remove-group":
        return this.onLeader(m.id, async () => {
          const r = await this.host.broker.propose({ type: "group-rm", time: this.host.now(), group: m.name });
          if (r.type === "error") throw new MqraftError(r.code, r.message);
          this.host.send({ type: "ok", id: m.id });
        });
      default:
        return m satisfies never;
    }
  }

  /** Settles the offsets (one replicated command); resolves with those refused. */
  private async settle(m: GroupAck): Promise<number[]> {
    if (m.attempts.length !== m.offsets.length)
      throw new MqraftError("BAD_MESSAGE", "group-ack needs one attempt per offset");
    const count = m.offsets.length + (m.ranges === undefined ? 0 : rangesTotal(m.ranges));
    if (count > MAX_SETTLES_PER_ACK)
      throw new MqraftError("BAD_MESSAGE", `a group-ack settles at most ${MAX_SETTLES_PER_ACK} messages`);
    // only for a member this connection joined: a connection that names another's member settles nothing
    if (![...this.consumers.values()].some((c) => c.group === m.group && c.member === m.member))
      throw new MqraftError(
        "NOT_FOUND",
        `this connection has not joined group ${m.group} as ${m.member}: consume first`,
      );
    if (this.settlesInFlight + count > MAX_SETTLES_IN_FLIGHT)
      throw new MqraftError(
        "REFUSED",
        `over ${MAX_SETTLES_IN_FLIGHT} settles of this connection wait for their commit`,
      );
    const { groups } = this.host.broker;
    this.settlesInFlight += count;
    // a refusal of the whole request (not the leader, no such member) fails it; one of a delivery is per offset
    return groups.settle(m.group, m.member, m.kind, m.offsets, m.attempts, m.ranges).finally(() => {
      this.settlesInFlight -= count;
    });
  }

  /** True when `subscription` was one of this connection's group members (it has left, and `ok` was sent). */
  unsubscribe(id: number, subscription: number): boolean {
    const consumer = this.consumers.get(subscription);
    if (consumer === undefined) return false;
    this.consumers.delete(subscription);
    this.host.broker.groups.leave(consumer);
    this.host.send({ type: "ok", id });
    return true;
  }

  /** The connection closed: its members leave (what they held goes to the others). */
  closed(): void {
    for (const consumer of this.consumers.values()) this.host.broker.groups.leave(consumer);
    this.consumers.clear();
  }

  private async consume(m: Consume): Promise<void> {
    if (this.consumers.size >= MAX_CONSUMERS_PER_CONNECTION)
      throw new MqraftError("REFUSED", `this connection serves ${MAX_CONSUMERS_PER_CONNECTION} group members already`);
    const id = this.host.nextSubscription();
    const host = this.host;
    const sink = {
      send: (message: GroupMessage | GroupMessages | GroupRun | GroupPing | Extract<Message, { type: "ended" }>) =>
        host.send(message),
      get isOpen() {
        return host.isOpen();
      },
    };
    // answered before the member's first push: the consumer pumps on a later turn
    const consumer = await this.host.broker.groups.consume(id, m, sink);
    if (!this.host.isOpen()) return this.host.broker.groups.leave(consumer);
    this.consumers.set(id, consumer);
    const ackWaitMs = this.host.broker.state.groups.get(m.group)?.settings.ackWaitMs ?? DEFAULT_ACK_WAIT_MS;
    this.host.send({ type: "consuming", id: m.id, subscription: id, ackWaitMs, ranges: true });
  }

  private onLeader(id: number, work: () => Promise<void>): void {
    void Promise.resolve()
      .then(() => {
        if (!this.host.isLeader()) throw new MqraftError("NOT_LEADER", "this broker is not the leader");
        return work();
      })
      .catch((e) => this.host.answerError(id, isMqraftError(e) ? e : new MqraftError("INTERNAL", describeError(e))));
  }
}
