/**
 * The broker-level checks of the driver simulation, on top of Raft's (test/sim/raft-checker.ts, shared with the core
 * level): every node holds the same message at a (topic, offset), an acknowledged publish stays at its offset, a
 * (producer, seq) is stored once, and only retention drops messages.
 */
import { fail, hashEntry } from "../invariants.ts";
import { RaftChecker } from "../raft-checker.ts";
import { type LogPosition, ProducerChecker } from "./producer-checker.ts";

export { fail };

export interface Placement {
  topic: string;
  offset: number;
}

export class BrokerChecker extends RaftChecker {
  /** topic -> offset -> the message's text (its identity "producer/seq/" and filler). */
  private readonly messages = new Map<string, Map<number, string>>();
  /** identity -> where it is stored, and where its publish was acknowledged. */
  private readonly stored = new Map<string, Placement>();
  readonly acked = new Map<string, Placement & { text: string }>();
  /** "topic/offset" -> the text acknowledged there. */
  private readonly ackedAt = new Map<string, string>();
  /** Per-producer order, no duplicate and fencing (producer-checker.ts). */
  readonly producers = new ProducerChecker();
  /**
   * Topics whose messages are copies of messages stored elsewhere (a consumer group's dead letters): nodes must agree
   * on them offset by offset, but they are no publishes of their own.
   */
  readonly copies = new Set<string>();

  constructor(
    /** Retention may drop old messages; without it every topic starts at offset 0 forever. */
    readonly retention: boolean,
  ) {
    super();
  }

  /** A node's state machine at `index` as snapshot bytes (a snapshot it took or installed, or its final state). */
  snapshotAt(id: number, index: number, term: number, bytes: Uint8Array): void {
    this.stateAt(id, index, term, hashEntry(0, { index, term, kind: 0, data: bytes }));
  }

  /** Node `id` holds `text` at (topic, offset), read back from its log (at `at` there). */
  holds(id: number, topic: string, offset: number, text: string, at?: LogPosition): void {
    let byOffset = this.messages.get(topic);
    if (byOffset === undefined) {
      byOffset = new Map();
      this.messages.set(topic, byOffset);
    }
    const known = byOffset.get(offset);
    if (known !== undefined) {
      if (known !== text)
        fail(
          "message agreement",
          `node ${id} holds ${brief(text)} at ${topic}/${offset}, another node ${brief(known)}`,
        );
      return;
    }
    byOffset.set(offset, text);
    if (this.copies.has(topic)) return;
    if (at !== undefined) this.producers.stored(text, topic, offset, at);
    const promised = this.ackedAt.get(`${topic}/${offset}`);
    if (promised !== undefined && promised !== text) {
      fail(
        "acknowledged publish",
        `${identityOf(promised)} was acknowledged at ${topic}/${offset}, node ${id} holds ${brief(text)} there`,
      );
    }
    const identity = identityOf(text);
    const ack = this.acked.get(identity);
    if (ack !== undefined && (ack.topic !== topic || ack.offset !== offset)) {
      fail(
        "acknowledged publish",
        `${identity} was acknowledged at ${ack.topic}/${ack.offset}, node ${id} stores it at ${topic}/${offset}`,
      );
    }
    const first = this.stored.get(identity);
    if (first !== undefined)
      fail("stored once", `${identity} is stored at ${first.topic}/${first.offset} and at ${topic}/${offset}`);
    this.stored.set(identity, { topic, offset });
  }

  /** A client was told its publish is stored at (topic, offset). */
  acknowledged(text: string, topic: string, offset: number): void {
    const identity = identityOf(text);
    const before = this.acked.get(identity);
    if (before !== undefined) {
      if (before.topic !== topic || before.offset !== offset) {
        fail(
          "stored once",
          `${identity} was acknowledged at ${before.topic}/${before.offset}, then at ${topic}/${offset}`,
        );
      }
      return;
    }
    const held = this.messages.get(topic)?.get(offset);
    if (held !== undefined && held !== text)
      fail("acknowledged publish", `${identity} was acknowledged at ${topic}/${offset}, which holds ${brief(held)}`);
    const stored = this.stored.get(identity);
    if (stored !== undefined && (stored.topic !== topic || stored.offset !== offset)) {
      fail(
        "acknowledged publish",
        `${identity} was acknowledged at ${topic}/${offset}, it is stored at ${stored.topic}/${stored.offset}`,
      );
    }
    this.acked.set(identity, { topic, offset, text });
    this.ackedAt.set(`${topic}/${offset}`, text);
  }

  /** A node's topic starts past offset 0: only retention may drop messages. */
  topicStart(id: number, topic: string, firstOffset: number): void {
    if (firstOffset > 0 && !this.retention)
      fail("retention", `node ${id}'s topic ${topic} starts at ${firstOffset} without retention`);
  }
}

/** "producer/seq", the part of a message's text that names the publish. */
export function identityOf(text: string): string {
  const end = text.indexOf("/", text.indexOf("/") + 1);
  return end < 0 ? text : text.slice(0, end);
}

function brief(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
