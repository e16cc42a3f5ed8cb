/**
 * Simulated members of one consumer group, driving production's GroupService on the broker they are connected to,
 * as a client session would: consume (join), pushes over an ordered link that dies with the connection, acks and
 * naks answered after a delay. What a member holds and settles goes through production's GroupHand, as the client's
 * GroupStream does (src/client/group-stream.ts): it drops the copies a new leader sends again, refuses settles of
 * deliveries no longer held and batches settles into requests, which travel over the member's links here. They churn:
 * leave (after their settles are answered), vanish without a word (the broker is not told), come back under their
 * name; they follow the leader across failovers, resend settles whose answer was lost, and some jobs take longer than
 * the ack wait (it takes them back; their late settle is refused).
 */
import { GroupHand } from "../../../src/client/group-hand.ts";
import type { Held } from "../../../src/client/group-held.ts";
import { MAX_PER_REQUEST, rangesOf, type SettleKind } from "../../../src/client/group-settles.ts";
import type { GroupConsumer } from "../../../src/node/group-consumer.ts";
import { isMqraftError, MqraftError } from "../../../src/util/errors.ts";
import type { Prng } from "../../../src/util/prng.ts";
import type { GroupMessage, GroupMessages, GroupPing, GroupRun, SubscriptionEnded } from "../../../src/wire/index.ts";
import type { DriverCluster } from "./driver-cluster.ts";
import type { GroupChecker } from "./group-checker.ts";
import { HandOracle } from "./hand-oracle.ts";

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

/** One request of settles the member's hand made, with the link it was last sent on: sent again on a new link. */
interface Request {
  kind: SettleKind;
  messages: readonly Held[];
  link: Link | undefined;
  resolve: (refused: number[]) => void;
  reject: (e: MqraftError) => void;
}

export class GroupMember {
  private link: Link | undefined;
  /** The link a consume is under way on: its pushes may arrive before its answer, as on a real connection. */
  private connecting: Link | undefined;
  private target: number;
  /** What this member holds and settles: production's, one per run of the member's process (as one GroupStream). */
  private hand: GroupHand;
  /** What the hand must do, checked from outside it. */
  private oracle: HandOracle;
  /** The hand's requests of settles not answered yet. */
  private readonly requests = new Set<Request>();
  /** A clean stop under way: the member waits for its settles' answers before it leaves (GroupStream.close). */
  private leaving = false;
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
    this.hand = this.newHand();
    this.oracle = new HandOracle(name);
  }

  /** Odd members take batched pushes (and fetch what waits as a batch), the others one message a push. */
  private get batched(): boolean {
    return Number(this.name.slice(1)) % 2 === 1;
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
    if (faulty && this.link !== undefined && !this.leaving && this.prng.chance(0.01)) this.leave();
    else if (faulty && this.link !== undefined && this.prng.chance(0.005)) {
      // the process dies and the broker never hears of it: only the ack wait brings its messages back
      this.drop("vanished");
      this.forgetAll();
      this.goneUntil = now + this.prng.int(1, 40) * 100;
      return;
    }
    if (this.link === undefined && this.connecting === undefined) this.connect();
    if (this.link !== undefined) for (const r of this.requests) if (r.link !== this.link) this.transmit(r, this.link);
  }

  /**
   * A clean stop, as GroupStream.close: once every settle made is answered the session tells the broker, and what it
   * still holds goes to the others; the member's next run starts with a new hand.
   */
  private leave(): void {
    this.leaving = true;
    const hand = this.hand;
    void hand.drain().then(() =>
      this.later(() => {
        // vanished meanwhile: that run of the member is over already
        if (this.hand !== hand) return;
        const link = this.link;
        if (link !== undefined) {
          this.cluster.nodes.get(link.node)?.replica?.broker.groups.leave(link.consumer as GroupConsumer);
          this.drop("left");
        }
        this.forgetAll();
      }),
    );
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

  /** The member's process ends: its hand goes with it, and the settles it had not had answered. */
  private forgetAll(): void {
    const gone = new MqraftError("CONNECTION_CLOSED", `${this.name} stopped`);
    for (const r of this.requests) r.reject(gone);
    this.requests.clear();
    this.leaving = false;
    this.hand = this.newHand();
    this.oracle = new HandOracle(this.name);
  }

  private newHand(): GroupHand {
    const hand: GroupHand = new GroupHand((kind, messages) => this.send(hand, kind, messages));
    return hand;
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
      batch: this.batched,
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
      // a new broker sends again what this member holds: the hand drops those copies
      this.hand.hold(m);
      // as a user takes them: one at a time (next), or a batch of all that waits (fetch), settled one by one or as one
      if (!this.batched) for (let h = this.hand.shift(); h !== undefined; h = this.hand.shift()) this.received([h]);
      else if (this.hand.waiting > 0) {
        const messages = this.hand.take(MAX_PER_REQUEST);
        if (this.prng.chance(0.5)) this.received(messages);
        else for (const h of messages) this.received([h]);
      }
    });
    return true;
  }

  /** The member's user is handed `messages`, which it settles as one after a while. */
  private received(messages: Held[]): void {
    for (const m of messages) {
      this.note(this.link?.node ?? 0, "member gets", { member: this.name, offset: m.offset, attempt: m.attempt });
      this.oracle.handed(m.key, m.attempt);
      this.checker.delivered(this.name, m.offset, m.attempt);
    }
    const roll = this.prng.next();
    const kind = roll < 0.2 ? "nak" : "ack";
    // some jobs take longer than the ack wait: it takes them back, and their late settle is refused
    const delay = roll > 0.95 ? ACK_WAIT_MS + this.prng.int(1, 3000) : this.prng.int(1, 300);
    const hand = this.hand;
    this.cluster.scheduler.after(delay, () => {
      const settled = messages.length === 1 ? (messages[0] as Held)[kind]() : hand.settleMany(kind, messages);
      settled.then(
        () => {
          if (kind !== "ack") return;
          this.check(() => {
            for (const m of messages) this.checker.ackResolved(this.name, m.offset);
          });
        },
        // refused (no longer this member's), or the member stopped before the answer
        () => {},
      );
    });
  }

  /** The hand's `send`: one request of settles over the member's links; resolves with the offsets refused. */
  private send(hand: GroupHand, kind: SettleKind, messages: readonly Held[]): Promise<number[]> {
    if (hand !== this.hand) return Promise.reject(new MqraftError("CONNECTION_CLOSED", `${this.name} stopped`));
    this.check(() => this.oracle.sending(kind, messages));
    return new Promise<number[]>((resolve, reject) => {
      const request: Request = { kind, messages, link: this.link, resolve, reject };
      this.requests.add(request);
      if (this.link !== undefined) this.transmit(request, this.link);
    });
  }

  private transmit(request: Request, link: Link): void {
    request.link = link;
    const replica = this.cluster.nodes.get(link.node)?.replica;
    if (replica === undefined) return;
    const { kind, messages } = request;
    this.cluster.scheduler.after(this.prng.int(1, 20), () => {
      if (!this.alive(link) || !this.requests.has(request)) return;
      const offsets = messages.map((m) => m.key);
      const attempts = messages.map((m) => m.attempt);
      this.note(link.node, "member settles", { member: this.name, kind, offsets, attempts });
      // half as ranges (command version 4's form), which must settle exactly as the offsets listed do
      const ranges = this.prng.next() < 0.5 ? rangesOf(messages) : undefined;
      const settling =
        ranges === undefined
          ? replica.broker.groups.settle(GROUP, this.name, kind, offsets, attempts)
          : replica.broker.groups.settle(GROUP, this.name, kind, [], [], ranges);
      settling.then(
        (refused) => this.later(() => this.answered(link, request, refused)),
        (e: MqraftError) => this.later(() => this.answered(link, request, e)),
      );
    });
  }

  private answered(link: Link, request: Request, answer: number[] | MqraftError): void {
    // an answer lost with its link: the member sends the request again on the next one
    if (!link.open || this.link !== link || !this.requests.has(request)) return;
    if (!Array.isArray(answer) && !isMqraftError(answer, "REFUSED"))
      return this.drop(`settle failed: ${(answer as MqraftError).code}`);
    const refused = Array.isArray(answer) ? answer : request.messages.map((m) => m.key);
    this.requests.delete(request);
    const { kind, messages } = request;
    this.note(link.node, "member settled", { member: this.name, kind, offsets: messages.map((m) => m.key), refused });
    this.oracle.answered(messages);
    request.resolve(refused);
  }

  /** A check run in a promise's callback: its violation ends the run (cluster.fail) instead of being lost. */
  private check(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.cluster.fail(e);
    }
  }

  /** An answer travels back to the member. */
  private later(fn: () => void): void {
    this.cluster.scheduler.after(this.prng.int(1, 20), fn);
  }
}
