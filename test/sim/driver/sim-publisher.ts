/**
 * What every simulated publishing client does alike, whatever protocol it speaks (publishers.ts: a client without an
 * epoch; ordered-publisher.ts: the library's): it makes messages at the profile's rate, each naming its publish in its
 * text, and checks every acknowledgement it gets before handing it to the checker.
 */
import type { ApplyResult } from "../../../src/broker/results.ts";
import type { Prng } from "../../../src/util/prng.ts";
import { fail } from "./broker-checker.ts";
import { type DriverCluster, TICK } from "./driver-cluster.ts";
import { ELECTION_TICKS } from "./sim-replica.ts";

const TOPICS = ["orders", "audit", "metrics"];
export const REQUEST_TIMEOUT = 2 * ELECTION_TICKS * TICK;
export const RETRY_PAUSE = TICK / 2;
/** Messages a client holds before it stops producing new ones. */
const MAX_QUEUED = 20;

/** A message as made: its seq, topic and text (the checker's identity of it), and the bytes sent. */
export interface Made {
  seq: number;
  topic: string;
  data: Uint8Array<ArrayBuffer>;
  text: string;
}

type PublishResult = Extract<ApplyResult, { type: "publish" }>;

export abstract class SimPublisher {
  /** The broker the client sends to next. */
  protected target: number;

  constructor(
    readonly producer: string,
    protected readonly cluster: DriverCluster,
    protected readonly prng: Prng,
  ) {
    this.target = prng.pick(cluster.peers);
  }

  /** Publishes not yet acknowledged (of the current incarnation). */
  abstract get outstanding(): number;

  /** One tick: new messages only while `produce`, then whatever the client's protocol sends. */
  abstract tick(produce: boolean): void;

  /**
   * Makes this tick's new messages (the profile's rate, its fraction by chance) while the client holds fewer than
   * MAX_QUEUED (`held` now, and each one made), numbered from `nextSeq` and named by `text(seq, filler)`; in seq order.
   */
  protected produce(
    produce: boolean,
    held: number,
    nextSeq: number,
    text: (seq: number, filler: string) => string,
  ): Made[] {
    const { profile } = this.cluster;
    const rate = profile.publish;
    const count = produce ? Math.floor(rate) + (this.prng.chance(rate % 1) ? 1 : 0) : 0;
    const made: Made[] = [];
    for (let seq = nextSeq; made.length < count && held + made.length < MAX_QUEUED; seq++) {
      const t = text(seq, "x".repeat(this.prng.int(0, profile.payload)));
      made.push({ seq, topic: this.prng.pick(TOPICS), data: new TextEncoder().encode(t), text: t });
      this.cluster.stats.published++;
    }
    return made;
  }

  /**
   * An acknowledgement of message `m` (named `name` in violations): it must be a publish in `m`'s topic, and goes to
   * the checker, which holds it to where the message is stored.
   */
  protected checkAcknowledgement(name: string, m: Made, result: ApplyResult): PublishResult {
    if (result.type !== "publish") return fail("publish", `${name} got ${JSON.stringify(result)}`);
    if (result.topic !== m.topic) fail("publish", `${name} to ${m.topic} was acknowledged in topic ${result.topic}`);
    this.cluster.checker.acknowledged(m.text, result.topic, result.offset);
    if (result.duplicate) this.cluster.stats.duplicateAcks++;
    return result;
  }

  /** The acknowledgement that settles message `m`. */
  protected settled(m: Made, result: PublishResult): void {
    this.cluster.stats.acked++;
    this.cluster.trace(0, "acked", { producer: this.producer, seq: m.seq, topic: result.topic, offset: result.offset });
  }
}
