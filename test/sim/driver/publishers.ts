/**
 * Simulated publishing clients. Each has a producer id and numbers its messages; a publish goes to
 * the broker the client believes leads, over a lossy link, and is retried with the same seq after
 * NOT_LEADER, UNAVAILABLE, a refusal during a leadership change, or a timeout, until one attempt is
 * acknowledged. Every acknowledgement goes to the checker.
 */
import type { ApplyResult } from "../../../src/broker/results.ts";
import type { PublishOutcome } from "../../../src/node/publish-batcher.ts";
import { MqraftError } from "../../../src/util/errors.ts";
import type { Prng } from "../../../src/util/prng.ts";
import { fail } from "./broker-checker.ts";
import { ConnectionOrder } from "./connection-order.ts";
import { type DriverCluster, TICK } from "./driver-cluster.ts";
import { ELECTION_TICKS } from "./sim-replica.ts";

const TOPICS = ["orders", "audit", "metrics"];
const REQUEST_TIMEOUT = 2 * ELECTION_TICKS * TICK;
const RETRY_PAUSE = TICK / 2;
/** Messages a client holds before it stops producing new ones. */
const MAX_QUEUED = 20;
/** Errors after which the outcome of a publish is unknown or it was not stored: the client retries. */
const RETRYABLE = new Set(["NOT_LEADER", "UNAVAILABLE", "REFUSED"]);

interface Outgoing {
  seq: number;
  topic: string;
  data: Uint8Array<ArrayBuffer>;
  text: string;
  attempt: number;
}

export class Publisher {
  private readonly inflight = new Map<number, Outgoing>();
  private readonly queue: Outgoing[] = [];
  private nextSeq = 0;
  private target: number;
  /** "broker/process generation" -> the order this client's publishes reached that broker process in. */
  private readonly orders = new Map<string, ConnectionOrder>();

  constructor(
    readonly producer: string,
    private readonly cluster: DriverCluster,
    private readonly prng: Prng,
  ) {
    this.target = prng.pick(cluster.peers);
  }

  /** Publishes not yet acknowledged. */
  get outstanding(): number {
    return this.inflight.size + this.queue.length;
  }

  /** One tick: maybe a new message (only while `produce`), then fill the window. */
  tick(produce: boolean): void {
    const { profile } = this.cluster;
    const rate = profile.publish;
    const count = produce ? Math.floor(rate) + (this.prng.chance(rate % 1) ? 1 : 0) : 0;
    for (let i = 0; i < count && this.queue.length < MAX_QUEUED; i++) {
      const seq = this.nextSeq++;
      const text = `${this.producer}/${seq}/${"x".repeat(this.prng.int(0, profile.payload))}`;
      this.queue.push({ seq, topic: this.prng.pick(TOPICS), data: new TextEncoder().encode(text), text, attempt: 0 });
      this.cluster.stats.published++;
    }
    this.fill();
  }

  /** Sends queued messages while the window has room: publishes are pipelined, as the client library does. */
  private fill(): void {
    while (this.inflight.size < this.cluster.profile.window && this.queue.length > 0)
      this.send(this.queue.shift() as Outgoing);
  }

  private send(o: Outgoing): void {
    const attempt = ++o.attempt;
    const target = this.target;
    this.inflight.set(o.seq, o);
    this.cluster.stats.attempts++;
    this.cluster.trace(target, "publish", { producer: this.producer, seq: o.seq, topic: o.topic, attempt });
    this.request(target, o, (outcome, leader) => this.settle(o, attempt, outcome, leader));
    this.cluster.scheduler.after(REQUEST_TIMEOUT, () => {
      if (!this.current(o, attempt)) return;
      this.target = this.prng.pick(this.cluster.peers.filter((id) => id !== target));
      this.send(o);
    });
  }

  private current(o: Outgoing, attempt: number): boolean {
    return this.inflight.get(o.seq) === o && o.attempt === attempt;
  }

  /**
   * Carries one publish to broker `target` and its answer back, each way after a delay and maybe
   * lost. A broker that is not serving refuses the connection; one that is paused answers late.
   */
  private request(target: number, o: Outgoing, answer: (outcome: PublishOutcome, leader: number) => void): void {
    const { cluster, prng } = this;
    const loss = cluster.network.faults.loss;
    const reply = (outcome: PublishOutcome, leader: number) => {
      if (loss > 0 && prng.chance(loss)) return;
      cluster.scheduler.after(prng.int(1, 20), () => answer(outcome, leader));
    };
    if (loss > 0 && prng.chance(loss)) return;
    cluster.scheduler.after(prng.int(1, 20), () => {
      const node = cluster.nodes.get(target);
      const replica = node?.replica;
      if (node === undefined || replica === undefined)
        return reply(new MqraftError("UNAVAILABLE", `broker ${target} is not serving`), 0);
      node.after(0, () => {
        const message = { topic: o.topic, data: o.data, producer: this.producer, seq: o.seq };
        const order = this.orderAt(target, node.generation);
        const arrival = order.arrived();
        replica.publish(message, (outcome) => {
          // checked outside the broker's call stack, which would take the violation for its own error
          cluster.scheduler.after(0, () => order.answered(arrival, outcome));
          reply(outcome, replica.raft.leader);
        });
      });
    });
  }

  /**
   * What this client sent to one broker process, in the order it arrived there: the link reorders, but what the
   * broker is handed one after the other is what a connection would carry, and must be stored in that order.
   */
  private orderAt(target: number, generation: number): ConnectionOrder {
    const key = `${target}/${generation}`;
    let order = this.orders.get(key);
    if (order === undefined) {
      order = new ConnectionOrder(`${this.producer} to broker ${target} (process ${generation})`);
      this.orders.set(key, order);
    }
    return order;
  }

  private settle(o: Outgoing, attempt: number, outcome: PublishOutcome, leader: number): void {
    if (outcome instanceof MqraftError) {
      if (!RETRYABLE.has(outcome.code))
        fail("publish", `${this.producer}/${o.seq} failed with ${outcome.code}: ${outcome.message}`);
      if (!this.current(o, attempt)) return;
      this.target = outcome.code === "NOT_LEADER" && leader !== 0 ? leader : this.prng.pick(this.cluster.peers);
      this.cluster.scheduler.after(RETRY_PAUSE, () => {
        if (this.current(o, attempt)) this.send(o);
      });
      return;
    }
    this.acknowledged(o, outcome);
  }

  private acknowledged(o: Outgoing, result: ApplyResult): void {
    if (result.type !== "publish") return fail("publish", `${this.producer}/${o.seq} got ${JSON.stringify(result)}`);
    if (result.topic !== o.topic)
      fail("publish", `${this.producer}/${o.seq} to ${o.topic} was acknowledged in topic ${result.topic}`);
    this.cluster.checker.acknowledged(o.text, result.topic, result.offset);
    if (result.duplicate) this.cluster.stats.duplicateAcks++;
    if (this.inflight.get(o.seq) !== o) return;
    this.inflight.delete(o.seq);
    this.cluster.stats.acked++;
    this.cluster.trace(0, "acked", { producer: this.producer, seq: o.seq, topic: result.topic, offset: result.offset });
    this.fill();
  }
}
