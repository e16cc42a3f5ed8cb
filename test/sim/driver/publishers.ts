/**
 * Simulated publishing clients. Each has a producer id and numbers its messages; a publish goes to
 * the broker the client believes leads, over a lossy link, and is retried with the same seq after
 * NOT_LEADER, UNAVAILABLE, a refusal during a leadership change, or a timeout, until one attempt is
 * acknowledged. Every acknowledgement goes to the checker.
 */
import type { ApplyResult } from "../../../src/broker/results.ts";
import type { PublishOutcome } from "../../../src/node/publish-batcher.ts";
import { MqraftError } from "../../../src/util/errors.ts";
import { fail } from "./broker-checker.ts";
import { ConnectionOrder } from "./connection-order.ts";
import { type Made, REQUEST_TIMEOUT, RETRY_PAUSE, SimPublisher } from "./sim-publisher.ts";

/** Errors after which the outcome of a publish is unknown or it was not stored: the client retries. */
// DISK_FULL: the leader's disk alarm (docs/disk-full.md); an application tries again once space is freed
const RETRYABLE = new Set(["NOT_LEADER", "UNAVAILABLE", "REFUSED", "DISK_FULL"]);

interface Outgoing extends Made {
  attempt: number;
}

export class Publisher extends SimPublisher {
  private readonly inflight = new Map<number, Outgoing>();
  private readonly queue: Outgoing[] = [];
  private nextSeq = 0;
  /** "broker/process generation" -> the order this client's publishes reached that broker process in. */
  private readonly orders = new Map<string, ConnectionOrder>();

  /** Publishes not yet acknowledged. */
  get outstanding(): number {
    return this.inflight.size + this.queue.length;
  }

  /** One tick: maybe a new message (only while `produce`), then fill the window. */
  tick(produce: boolean): void {
    const made = this.produce(
      produce,
      this.queue.length,
      this.nextSeq,
      (seq, filler) => `${this.producer}/${seq}/${filler}`,
    );
    for (const m of made) this.queue.push({ ...m, attempt: 0 });
    this.nextSeq += made.length;
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
    const published = this.checkAcknowledgement(`${this.producer}/${o.seq}`, o, result);
    if (this.inflight.get(o.seq) !== o) return;
    this.inflight.delete(o.seq);
    this.settled(o, published);
    this.fill();
  }
}
