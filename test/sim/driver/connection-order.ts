/**
 * Per-connection order, as the broker promises it (docs/protocol.md, "Client requests and answers"): publishes that one
 * connection hands a broker are committed in the order they arrived. Two of them that this broker stored (answered
 * with an offset, not as a duplicate of an earlier copy) in one topic have offsets in their order of arrival.
 *
 * This holds for every client, with or without a producer epoch: a registered producer's seq check refuses a publish
 * that overtakes an earlier seq (OUT_OF_ORDER) and so hides a broker that reorders one connection's publishes, while
 * a publisher without an epoch has its publishes stored in whatever order the broker proposes them.
 *
 * It is also safe under every fault: a broker proposes in arrival order, its entries within a term are appended in
 * order, and an entry it proposed in an earlier term that is committed is in its log (leader completeness) when it
 * proposes again, so a later proposal lands at a higher index.
 */
import type { PublishOutcome } from "../../../src/node/publish-batcher.ts";
import { MqraftError } from "../../../src/util/errors.ts";
import { fail } from "../invariants.ts";

interface Stored {
  /** Arrival numbers, ascending, and the offset each was stored at (the same order when the order holds). */
  arrivals: number[];
  offsets: number[];
}

export class ConnectionOrder {
  private arrivals = 0;
  /** topic -> what this connection's publishes were stored at. */
  private readonly topics = new Map<string, Stored>();

  constructor(
    /** Names the connection in a violation: the client and the broker process. */
    readonly name: string,
  ) {}

  /** A publish reaches the broker: its number in this connection's order of arrival. */
  arrived(): number {
    return ++this.arrivals;
  }

  /** The broker answered the publish that arrived `arrival`-th: if it stored it there, checks where. */
  answered(arrival: number, outcome: PublishOutcome): void {
    if (outcome instanceof MqraftError || outcome.type !== "publish" || outcome.duplicate) return;
    this.stored(arrival, outcome.topic, outcome.offset);
  }

  /** The publish that arrived `arrival`-th was stored (not deduplicated) by this broker at `topic`/`offset`. */
  stored(arrival: number, topic: string, offset: number): void {
    let s = this.topics.get(topic);
    if (s === undefined) {
      s = { arrivals: [], offsets: [] };
      this.topics.set(topic, s);
    }
    let i = s.arrivals.length;
    while (i > 0 && (s.arrivals[i - 1] as number) > arrival) i--;
    const before = i - 1;
    if (before >= 0 && (s.offsets[before] as number) > offset)
      fail(
        "connection order",
        `on ${this.name}, publish #${arrival} was stored at ${topic}/${offset}, before #${s.arrivals[before]} (which arrived earlier) at ${topic}/${s.offsets[before]}`,
      );
    if (i < s.arrivals.length && (s.offsets[i] as number) < offset)
      fail(
        "connection order",
        `on ${this.name}, publish #${arrival} was stored at ${topic}/${offset}, after #${s.arrivals[i]} (which arrived later) at ${topic}/${s.offsets[i]}`,
      );
    s.arrivals.splice(i, 0, arrival);
    s.offsets.splice(i, 0, offset);
  }
}
