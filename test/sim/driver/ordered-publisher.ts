/**
 * Simulated clients that publish as the client library does (src/client/publisher.ts): a producer id registered for
 * an epoch, seqs numbered from 0, pipelined on one ordered connection at a time with `low` (the oldest seq not yet
 * acknowledged). A retryable refusal, a broken connection or a request timeout gives the connection up and sends
 * everything unacknowledged again, in seq order, on a new one; OUT_OF_ORDER sends it all again on the same one. What
 * was on the wire of a connection given up still reaches its broker (it was read before the close was noticed). Now
 * and then the client's process restarts: it forgets what it had not been told, and registers the same producer id
 * again, for a new epoch, with seqs from 0; late frames of the old incarnation may still arrive.
 *
 * Connections are TCP-like: each way, frames arrive in order; a lost frame breaks the connection (nothing more
 * passes either way) and the client notices the close a little later. A broker that crashes takes its connections
 * with it, unnoticed by the client until its request times out.
 */
import type { ApplyResult } from "../../../src/broker/results.ts";
import type { PublishOutcome } from "../../../src/node/publish-batcher.ts";
import { MqraftError } from "../../../src/util/errors.ts";
import { fail } from "./broker-checker.ts";
import { ConnectionOrder } from "./connection-order.ts";
import { ProducerChecker } from "./producer-checker.ts";
import { type Made, REQUEST_TIMEOUT, RETRY_PAUSE, SimPublisher } from "./sim-publisher.ts";
import type { SimReplica } from "./sim-replica.ts";

/** Per tick while producing: the chance that the client's process restarts. */
const RESTART = 0.01;
/** Errors that say nothing of the publish itself (client-errors.ts): the client sends it again elsewhere. */
// DISK_FULL: the leader's disk alarm (docs/disk-full.md); an application tries again once space is freed
const RETRYABLE = new Set(["NOT_LEADER", "NO_LEADER", "UNAVAILABLE", "TIMEOUT", "DISK_FULL"]);

interface Outgoing extends Made {
  /** Times sent, over every connection of this incarnation. */
  sends: number;
}

/** One connection to broker `target`'s process of generation `process`. */
interface Connection {
  target: number;
  process: number;
  /** When the last frame sent each way arrives: a later frame never arrives before it. */
  toBroker: number;
  toClient: number;
  broken: boolean;
  /** The order its publishes reached the broker in: what the broker stores of them keeps it. */
  order: ConnectionOrder;
}

export class OrderedPublisher extends SimPublisher {
  /** Unacknowledged publishes of this incarnation, in seq order. */
  private readonly entries = new Map<number, Outgoing>();
  private unsent: Outgoing[] = [];
  private unsentHead = 0;
  private inflight = 0;
  private nextSeq = 0;
  private incarnation = 0;
  /** When this incarnation's process started (the client's clock): its session starts with it, as the library's. */
  private started = this.cluster.now;
  private epoch: number | undefined;
  private registering = false;
  private conn: Connection | undefined;
  /** Moves on whenever what is on the wire stops counting: answers of an older generation are ignored. */
  private generation = 0;

  /** Publishes of the current incarnation not yet acknowledged. */
  get outstanding(): number {
    return this.entries.size;
  }

  /** One tick: maybe a restart and new messages (only while `produce`), then send what the window allows. */
  tick(produce: boolean): void {
    if (produce && this.prng.chance(RESTART)) this.restart();
    const { incarnation } = this;
    const made = this.produce(produce, this.entries.size, this.nextSeq, (seq, filler) =>
      ProducerChecker.text(this.producer, incarnation, seq, filler),
    );
    for (const m of made) {
      const o = { ...m, sends: 0 };
      this.entries.set(o.seq, o);
      this.unsent.push(o);
    }
    this.nextSeq += made.length;
    this.pump();
  }

  /** The process restarts: what it was not told is forgotten, and it registers its producer id again. */
  private restart(): void {
    this.cluster.trace(0, "producer restart", { producer: this.producer, incarnation: this.incarnation + 1 });
    this.incarnation++;
    this.started = this.cluster.now;
    this.entries.clear();
    this.nextSeq = 0;
    this.epoch = undefined;
    this.dropConnection();
  }

  private dropConnection(): void {
    this.conn = undefined;
    this.registering = false;
    this.generation++;
    this.inflight = 0;
    this.unsent = [...this.entries.values()];
    this.unsentHead = 0;
  }

  private pump(): void {
    if (this.entries.size === 0) return;
    if (this.conn === undefined) {
      const node = this.cluster.nodes.get(this.target);
      const process = node?.generation ?? -1;
      const order = new ConnectionOrder(`${this.producer} to broker ${this.target} (process ${process})`);
      this.conn = { target: this.target, process, toBroker: 0, toClient: 0, broken: false, order };
      this.generation++;
    }
    if (this.epoch === undefined) {
      if (!this.registering) this.register(this.conn);
      return;
    }
    this.sendSome(this.conn);
  }

  private register(conn: Connection): void {
    this.registering = true;
    const { incarnation, generation, started } = this;
    this.cluster.trace(conn.target, "register", { producer: this.producer, incarnation });
    this.request(
      conn,
      (replica, answer) => {
        const time = replica.assembly.commandTime();
        // one session per incarnation, as the library keeps one per publisher: a late copy of a register answers the
        // epoch this incarnation holds instead of fencing it
        const session = `${started}.${this.producer}.${incarnation}`;
        replica.broker.propose({ type: "register", time, producer: this.producer, session }).then(
          (r) => answer(r, replica.raft.leader),
          (e: unknown) =>
            answer(e instanceof MqraftError ? e : new MqraftError("INTERNAL", String(e)), replica.raft.leader),
        );
      },
      (outcome, leader) => {
        if (!this.current(conn, generation) || incarnation !== this.incarnation) return;
        this.registering = false;
        if (outcome instanceof MqraftError) return this.refused(conn, outcome, leader, "register");
        if (outcome.type !== "register")
          return fail("publish", `${this.producer} register got ${JSON.stringify(outcome)}`);
        this.epoch = outcome.epoch;
        this.cluster.checker.producers.registered(this.producer, incarnation, outcome.epoch);
        this.cluster.trace(0, "registered", { producer: this.producer, incarnation, epoch: outcome.epoch });
        this.pump();
      },
    );
    this.timeout(conn, generation, () => this.registering);
  }

  private sendSome(conn: Connection): void {
    const { window } = this.cluster.profile;
    const epoch = this.epoch as number;
    const generation = this.generation;
    while (this.inflight < window && this.unsentHead < this.unsent.length) {
      const o = this.unsent[this.unsentHead++] as Outgoing;
      if (this.entries.get(o.seq) !== o) continue;
      const low = (this.entries.values().next().value as Outgoing).seq;
      const sends = ++o.sends;
      this.inflight++;
      this.cluster.stats.attempts++;
      this.cluster.trace(conn.target, "publish", { producer: this.producer, seq: o.seq, epoch, low, sends });
      const message = { topic: o.topic, data: o.data, producer: this.producer, seq: o.seq, epoch, low };
      this.request(
        conn,
        (replica, answer) => {
          const arrival = conn.order.arrived();
          replica.publish(message, (outcome) => {
            // checked outside the broker's call stack, which would take the violation for its own error
            this.cluster.scheduler.after(0, () => conn.order.answered(arrival, outcome));
            answer(outcome, replica.raft.leader);
          });
        },
        (outcome, leader) => this.settle(o, conn, generation, outcome, leader),
      );
      this.timeout(conn, generation, () => this.entries.get(o.seq) === o && o.sends === sends);
    }
  }

  /** Gives the connection up when `waiting` still holds once a request's time is up. */
  private timeout(conn: Connection, generation: number, waiting: () => boolean): void {
    this.cluster.scheduler.after(REQUEST_TIMEOUT, () => {
      if (!this.current(conn, generation) || !waiting()) return;
      this.target = this.prng.pick(this.cluster.peers.filter((id) => id !== conn.target));
      this.giveUp(conn);
    });
  }

  private current(conn: Connection, generation: number): boolean {
    return this.conn === conn && this.generation === generation;
  }

  private settle(o: Outgoing, conn: Connection, generation: number, answer: PublishOutcome, leader: number): void {
    if (!this.current(conn, generation)) return;
    // a refusal by the state machine is a result; the session sends it as an error (session-answers.ts)
    const outcome =
      answer instanceof MqraftError || answer.type !== "error" ? answer : new MqraftError(answer.code, answer.message);
    if (outcome instanceof MqraftError) {
      if (outcome.code !== "OUT_OF_ORDER") return this.refused(conn, outcome, leader, `${this.producer} seq ${o.seq}`);
      // an older seq was overtaken: everything unacknowledged again, in order, on this connection
      this.generation++;
      this.inflight = 0;
      this.unsent = [...this.entries.values()];
      this.unsentHead = 0;
      return this.pump();
    }
    this.inflight--;
    this.acknowledged(o, outcome);
    this.pump();
  }

  private refused(conn: Connection, error: MqraftError, leader: number, what: string): void {
    if (!RETRYABLE.has(error.code))
      fail("publish", `${what} (incarnation ${this.incarnation}) failed with ${error.code}: ${error.message}`);
    this.target = error.code === "NOT_LEADER" && leader !== 0 ? leader : this.prng.pick(this.cluster.peers);
    this.giveUp(conn);
  }

  /** Stops using `conn` (what is on its wire still arrives) and tries again a little later. */
  private giveUp(conn: Connection): void {
    if (this.conn !== conn) return;
    this.dropConnection();
    this.cluster.scheduler.after(RETRY_PAUSE, () => this.pump());
  }

  private acknowledged(o: Outgoing, result: ApplyResult): void {
    const name = `${this.producer}.${this.incarnation}/${o.seq}`;
    // only this incarnation publishes under its epoch: a first send cannot meet a stored copy
    if (result.type === "publish" && result.duplicate && o.sends === 1)
      fail("no duplicate", `${name} was answered as a duplicate of ${result.topic}/${result.offset} on its first send`);
    const published = this.checkAcknowledgement(name, o, result);
    if (this.entries.get(o.seq) !== o) return;
    this.entries.delete(o.seq);
    this.settled(o, published);
  }

  /**
   * Carries one request over `conn` to its broker and the answer back. A lost frame breaks the connection, and so
   * does a broker process that is gone; the client hears of a break a little later.
   */
  private request(
    conn: Connection,
    serve: (replica: SimReplica, answer: (outcome: PublishOutcome, leader: number) => void) => void,
    answered: (outcome: PublishOutcome, leader: number) => void,
  ): void {
    const { cluster, prng } = this;
    if (!this.pass(conn)) return;
    const arrive = Math.max(cluster.now + prng.int(1, 20), conn.toBroker);
    conn.toBroker = arrive;
    cluster.scheduler.after(arrive - cluster.now, () => {
      const node = cluster.nodes.get(conn.target);
      if (node === undefined || node.generation !== conn.process || node.replica === undefined)
        return this.breakOff(conn);
      node.after(0, () => {
        const replica = node.replica;
        if (replica === undefined) return;
        serve(replica, (outcome, leader) => {
          if (!this.pass(conn)) return;
          const back = Math.max(cluster.now + prng.int(1, 20), conn.toClient);
          conn.toClient = back;
          cluster.scheduler.after(back - cluster.now, () => answered(outcome, leader));
        });
      });
    });
  }

  /** Whether a frame gets through `conn`; a lost one breaks it. */
  private pass(conn: Connection): boolean {
    if (conn.broken) return false;
    const loss = this.cluster.network.faults.loss;
    if (loss > 0 && this.prng.chance(loss)) {
      this.breakOff(conn);
      return false;
    }
    return true;
  }

  private breakOff(conn: Connection): void {
    if (conn.broken) return;
    conn.broken = true;
    this.cluster.scheduler.after(this.prng.int(1, 20), () => {
      if (this.conn !== conn) return;
      this.target = this.prng.pick(this.cluster.peers);
      this.giveUp(conn);
    });
  }
}
