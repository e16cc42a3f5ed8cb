/**
 * Per-producer invariants of the driver simulation, over what the brokers store (docs/protocol.md, "Producers"):
 * - producer order: one incarnation of a producer has its messages stored in its seq order, across topics (by log
 *   position: entry index, then slot in the entry);
 * - no duplicate: one (incarnation, seq) is stored at one place only, whatever faults came between its sends;
 * - fenced: once a later incarnation of the producer id registered (epoch E, the log index of its `register`), no
 *   message of an earlier incarnation is stored at or after E.
 * A message's text names its publish as "producer.incarnation/seq/..."; texts of another shape (publishers without
 * an epoch, which are promised no order) are not this checker's.
 */
import { Violation } from "../invariants.ts";

/** Where one message sits in the log: its entry, and its slot in that entry's batch. */
export interface LogPosition {
  index: number;
  slot: number;
}

interface Incarnation {
  /** Stored seqs, ascending, and the log position of each (same order when the producer order holds). */
  seqs: number[];
  positions: number[];
  places: string[];
  /** The highest entry index holding a message of this incarnation. */
  lastIndex: number;
}

interface Producer {
  incarnations: Map<number, Incarnation>;
  /** incarnation -> the epoch its registration was answered with. */
  epochs: Map<number, number>;
}

/** A position as one comparable number: entries hold far fewer than a million messages. */
const SLOTS = 1_000_000;

export class ProducerChecker {
  private readonly producers = new Map<string, Producer>();

  /** The text of message `seq` of incarnation `incarnation` of `producer`, followed by `filler`. */
  static text(producer: string, incarnation: number, seq: number, filler: string): string {
    return `${producer}.${incarnation}/${seq}/${filler}`;
  }

  /** A broker stores `text` at (topic, offset), at `at` in the log (first sight of that place). */
  stored(text: string, topic: string, offset: number, at: LogPosition): void {
    const id = parse(text);
    if (id === undefined) return;
    if (at.slot >= SLOTS) fail("producer order", `slot ${at.slot} of entry ${at.index} is beyond the checker's range`);
    const producer = this.producer(id.producer);
    let inc = producer.incarnations.get(id.incarnation);
    if (inc === undefined) {
      inc = { seqs: [], positions: [], places: [], lastIndex: 0 };
      producer.incarnations.set(id.incarnation, inc);
    }
    const name = `${id.producer}.${id.incarnation}/${id.seq}`;
    const place = `${topic}/${offset}`;
    const position = at.index * SLOTS + at.slot;
    const i = lowerBound(inc.seqs, id.seq);
    if (inc.seqs[i] === id.seq) {
      if (inc.places[i] !== place) fail("no duplicate", `${name} is stored at ${inc.places[i]} and at ${place}`);
      return;
    }
    const before = i - 1;
    if (before >= 0 && (inc.positions[before] as number) > position)
      fail(
        "producer order",
        `${name} is stored at ${place} (${describe(position)}), before seq ${inc.seqs[before]} at ${inc.places[before]} (${describe(inc.positions[before] as number)})`,
      );
    if (i < inc.seqs.length && (inc.positions[i] as number) < position)
      fail(
        "producer order",
        `${name} is stored at ${place} (${describe(position)}), after seq ${inc.seqs[i]} at ${inc.places[i]} (${describe(inc.positions[i] as number)})`,
      );
    inc.seqs.splice(i, 0, id.seq);
    inc.positions.splice(i, 0, position);
    inc.places.splice(i, 0, place);
    if (at.index > inc.lastIndex) inc.lastIndex = at.index;
    for (const [later, epoch] of producer.epochs)
      if (later > id.incarnation && at.index >= epoch)
        fail(
          "fenced",
          `${name} is stored at entry ${at.index}, after incarnation ${later} of ${id.producer} registered at entry ${epoch}`,
        );
  }

  /** Incarnation `incarnation` of `producer` was answered `registered` with `epoch`. */
  registered(producer: string, incarnation: number, epoch: number): void {
    const p = this.producer(producer);
    p.epochs.set(incarnation, epoch);
    for (const [earlier, inc] of p.incarnations)
      if (earlier < incarnation && inc.lastIndex >= epoch)
        fail(
          "fenced",
          `incarnation ${earlier} of ${producer} has a message stored at entry ${inc.lastIndex}, after incarnation ${incarnation} registered at entry ${epoch}`,
        );
  }

  private producer(name: string): Producer {
    let p = this.producers.get(name);
    if (p === undefined) {
      p = { incarnations: new Map(), epochs: new Map() };
      this.producers.set(name, p);
    }
    return p;
  }
}

const IDENTITY = /^([^/]+)\.(\d+)\/(\d+)\//;

function parse(text: string): { producer: string; incarnation: number; seq: number } | undefined {
  const m = IDENTITY.exec(text);
  if (m === null) return undefined;
  return { producer: m[1] as string, incarnation: Number(m[2]), seq: Number(m[3]) };
}

function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function fail(invariant: string, detail: string): never {
  throw new Violation(invariant, detail);
}

function describe(position: number): string {
  return `entry ${Math.floor(position / SLOTS)} slot ${position % SLOTS}`;
}
