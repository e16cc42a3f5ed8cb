/**
 * Simulated members of one consumer group, driving production's GroupService on the broker they are connected to,
 * as a client session would: consume (join), pushes over an ordered link that dies with the connection, acks and
 * naks answered after a delay. They churn: leave, vanish without a word (the broker is not told), come back under
 * their name; they follow the leader across failovers, resend acks whose answer was lost, and some jobs take longer
 * than the ack wait (it takes them back; their late settle is refused).
 */
import type { GroupConsumer } from "../../../src/node/group-consumer.ts";
import { isMqraftError, MqraftError } from "../../../src/util/errors.ts";
import type { Prng } from "../../../src/util/prng.ts";
import type {
  GroupMessage,
  GroupMessageItem,
  GroupMessages,
  GroupPing,
  GroupRun,
  SubscriptionEnded,
} from "../../../src/wire/index.ts";
import type { DriverCluster } from "./driver-cluster.ts";
import type { GroupChecker } from "./group-checker.ts";

export const GROUP = "workers";
export const GROUP_TOPIC = "orders";
export const DEAD_LETTER_TOPIC = "orders.failed";
export const ACK_WAIT_MS = 1500;
export const MAX_DELIVER = 3;
const CONNECT_TIMEOUT = 2000;

interface Link {
  node: number;
  generation: number;
  open: boolean;
  consumer: GroupConsumer | undefined;
  /** Pushes arrive in order: none before this time. */
  lastArrival: number;
}

type Kind = "ack" | "nak";

export class GroupMember {
  private link: Link | undefined;
  /** The link a consume is under way on: its pushes may arrive before its answer, as on a real connection. */
  private connecting: Link | undefined;
  private target: number;
  /** offset -> attempt of what this member holds. */
  private readonly inHand = new Map<number, number>();
  /** Settles decided and not yet answered, with the link each was last sent on: sent again on a new link. */
  private readonly unsettled = new Map<number, { attempt: number; kind: Kind; link: Link | undefined }>();
  private nextId = 1;
  /** Gone (crashed without a word) until this time. */
  private goneUntil = 0;

  constructor(
    readonly name: string,
    private readonly cluster: DriverCluster,
    private readonly prng: Prng,
    private readonly checker: GroupChecker,
  ) {
    this.target = prng.pick(cluster.peers);
  }

  /** Into the run's trace (and on stdout with MQRAFT_GROUP_TRACE set, to follow one seed). */
  private note(node: number, what: string, detail: unknown): void {
    this.cluster.trace(node, what, detail);
    if (process.env.MQRAFT_GROUP_TRACE) console.log(this.cluster.now, node, what, JSON.stringify(detail));
  }

  tick(faulty: boolean): void {
    const now = this.cluster.now;
    if (now < this.goneUntil) return;
    const link = this.link;
    if (link !== undefined && !this.alive(link)) this.drop("its broker went away");
    if (faulty && this.link !== undefined && this.prng.chance(0.01)) {
      // a clean stop: the session tells the broker, what it held goes to the others
      this.cluster.nodes.get(this.link.node)?.replica?.broker.groups.leave(this.link.consumer as GroupConsumer);
      this.drop("left");
      this.forgetAll();
    } else if (faulty && this.link !== undefined && this.prng.chance(0.005)) {
      // the process dies and the broker never hears of it: only the ack wait brings its messages back
      this.drop("vanished");
      this.forgetAll();
      this.goneUntil = now + this.prng.int(1, 40) * 100;
      return;
    }
    if (this.link === undefined && this.connecting === undefined) this.connect();
    if (this.link !== undefined)
      for (const [offset, s] of this.unsettled) if (s.link !== this.link) this.settle(offset, s.attempt, s.kind);
  }

  /** The answer to a ping: the member says it is alive, as the client library does. */
  private beat(link: Link): void {
    const replica = this.cluster.nodes.get(link.node)?.replica;
    this.cluster.scheduler.after(this.prng.int(1, 20), () => {
      if (this.alive(link)) replica?.broker.groups.settle(GROUP, this.name, "progress", [], []).catch(() => {});
    });
  }

  private alive(link: Link): boolean {
    const node = this.cluster.nodes.get(link.node);
    return link.open && node?.replica !== undefined && node.generation === link.generation;
  }

  private drop(why: string): void {
    if (this.link === undefined) return;
    this.link.open = false;
    this.note(0, "member drops its link", { member: this.name, node: this.link.node, why });
    this.link = undefined;
  }

  private forgetAll(): void {
    this.inHand.clear();
    this.unsettled.clear();
  }

  private connect(): void {
    const node = this.cluster.nodes.get(this.target);
    const replica = node?.replica;
    if (node === undefined || replica === undefined) {
      this.target = this.prng.pick(this.cluster.peers);
      return;
    }
    const link: Link = { node: node.id, generation: node.generation, open: true, consumer: undefined, lastArrival: 0 };
    this.connecting = link;
    // a broker that crashes takes the request with it: the member gives up on it after a while
    this.cluster.scheduler.after(CONNECT_TIMEOUT, () => {
      if (this.link !== link && this.connecting === link) {
        this.connecting = undefined;
        link.open = false;
      }
    });
    const sink = {
      send: (m: GroupMessage | GroupMessages | GroupRun | GroupPing | SubscriptionEnded) => this.push(link, m),
      get isOpen() {
        return link.open;
      },
    };
    const request = {
      type: "consume" as const,
      id: 0,
      group: GROUP,
      topic: GROUP_TOPIC,
      member: this.name,
      ackWaitMs: ACK_WAIT_MS,
      maxDeliver: MAX_DELIVER,
      deadLetter: DEAD_LETTER_TOPIC,
      maxPending: 5,
      // members of odd number take batched pushes, the others one message a push (a client from before batches);
      // half of the odd ones take runs too
      batch: Number(this.name.slice(1)) % 2 === 1,
      runs: Number(this.name.slice(1)) % 4 === 1,
    };
    this.cluster.scheduler.after(this.prng.int(1, 20), () => {
      node.after(0, () => {
        replica.broker.groups.consume(this.nextId++, request, sink).then(
          (consumer) =>
            this.later(() => {
              link.consumer = consumer;
              if (!this.alive(link) || this.connecting !== link) {
                link.open = false;
                return void replica.broker.groups.leave(consumer);
              }
              this.connecting = undefined;
              this.link = link;
              this.note(link.node, "member joined", { member: this.name });
            }),
          (e: MqraftError) =>
            this.later(() => {
              if (this.connecting === link) this.connecting = undefined;
              link.open = false;
              this.target =
                isMqraftError(e, "NOT_LEADER") && replica.raft.leader !== 0
                  ? replica.raft.leader
                  : this.prng.pick(this.cluster.peers);
            }),
        );
      });
    });
  }

  /** A push on `link`: in order, after a delay, lost with the link. */
  private push(link: Link, m: GroupMessage | GroupMessages | GroupRun | GroupPing | SubscriptionEnded): boolean {
    const at = Math.max(this.cluster.now + this.prng.int(1, 20), link.lastArrival);
    link.lastArrival = at;
    this.cluster.scheduler.after(at - this.cluster.now, () => {
      if (!link.open || (this.link !== link && this.connecting !== link)) return;
      if (m.type === "ended") {
        if (this.link === link) this.drop(`ended ${m.code}`);
        link.open = false;
        return;
      }
      // asked whether it is there (stale, with messages waiting): it says so
      if (m.type === "group-ping") return this.beat(link);
      if (m.type === "group-message") return this.received(m);
      if (m.type === "group-messages") for (const item of m.messages) this.received(item);
      else
        m.messages.forEach(({ data, time }, i) => {
          this.received({
            topic: m.topic,
            offset: m.offset + i,
            attempt: m.attempt,
            data,
            ...(time === undefined ? {} : { time }),
          });
        });
    });
    return true;
  }

  private received(m: GroupMessageItem): void {
    // a new broker sends again what this member holds: it has that one already
    if (this.inHand.get(m.offset) === m.attempt) return;
    this.inHand.set(m.offset, m.attempt);
    this.note(this.link?.node ?? 0, "member gets", {
      member: this.name,
      offset: m.offset,
      attempt: m.attempt,
    });
    this.checker.delivered(this.name, m.offset, m.attempt);
    const roll = this.prng.next();
    const kind: Kind = roll < 0.2 ? "nak" : "ack";
    // some jobs take longer than the ack wait: it takes them back, and their late settle is refused
    const delay = roll > 0.95 ? ACK_WAIT_MS + this.prng.int(1, 3000) : this.prng.int(1, 300);
    this.cluster.scheduler.after(delay, () => this.settle(m.offset, m.attempt, kind));
  }

  private settle(offset: number, attempt: number, kind: Kind): void {
    if (this.inHand.get(offset) !== attempt) return;
    const link = this.link;
    this.unsettled.set(offset, { attempt, kind, link });
    if (link === undefined) return;
    const replica = this.cluster.nodes.get(link.node)?.replica;
    if (replica === undefined) return;
    this.cluster.scheduler.after(this.prng.int(1, 20), () => {
      if (!this.alive(link)) return;
      this.note(link.node, "member settles", { member: this.name, offset, attempt, kind });
      // half as a range of one (command version 4's form), which must settle exactly as the offset listed does
      const settling =
        this.prng.next() < 0.5
          ? replica.broker.groups.settle(GROUP, this.name, kind, [], [], [offset, 1, attempt])
          : replica.broker.groups.settle(GROUP, this.name, kind, [offset], [attempt]);
      settling.then(
        (refused) =>
          this.later(() =>
            this.answered(
              link,
              offset,
              attempt,
              kind,
              refused.length === 0 ? undefined : new MqraftError("REFUSED", ""),
            ),
          ),
        (e: MqraftError) => this.later(() => this.answered(link, offset, attempt, kind, e)),
      );
    });
  }

  private answered(link: Link, offset: number, attempt: number, kind: Kind, error: MqraftError | undefined): void {
    // an answer lost with its link: the member sends the settle again on the next one
    if (!link.open || this.link !== link || this.inHand.get(offset) !== attempt) return;
    if (error !== undefined && !isMqraftError(error, "REFUSED"))
      return this.drop(`settle failed: ${(error as MqraftError).code}`);
    this.inHand.delete(offset);
    this.unsettled.delete(offset);
    this.note(link.node, "member settled", { member: this.name, offset, attempt, kind, error: error?.code });
    if (error === undefined && kind === "ack") this.checker.ackResolved(this.name, offset);
  }

  /** An answer travels back to the member. */
  private later(fn: () => void): void {
    this.cluster.scheduler.after(this.prng.int(1, 20), fn);
  }
}
