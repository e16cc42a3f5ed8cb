import { assert } from "../../util/assert.ts";
import { TopicPattern } from "../../util/topic-pattern.ts";
import type { TopicView } from "./group-records.ts";

/** The topic views of the state machine, by name (undefined for a topic never published to). */
export type TopicLookup = (topic: string) => TopicView | undefined;

/** A message a group handed out, where it is: its topic (by the feed's index) and offset. */
export type MessageRef = [topicAt: number, offset: number];

/**
 * The messages a consumer group on a topic pattern (`orders.>`, `orders.*.created`) reads: those of every topic the
 * pattern matches, also of topics created after the group, each topic from its own cursor. Such a group names each
 * message it hands out by a number of its own, its key, counted from 0 (a group on one topic uses the offset), and
 * keeps which topic and offset a key stands for while the message is out. Fresh messages are taken round the
 * topics that have some waiting, in the order the topics matched, so that one busy topic does not hold back the
 * others. All of it follows from the applied commands alone: every replica hands out the same keys in the same order.
 */
export class PatternFeed {
  readonly pattern: TopicPattern;
  /** Matched topics, in the order they matched. */
  readonly topics: string[] = [];
  /** Per matched topic (same position), the next offset never handed out. */
  readonly cursors: number[] = [];
  private readonly positions = new Map<string, number>();
  /**
   * Positions of topics that may have messages not handed out, in ascending order: a superset, as takeFresh() checks
   * and drops those without, so that the choice of topic depends only on which topics really have some. Which stale ones are kept is history, not implied by
   * the rest of the state, yet Group.fill passes the member turn on before it finds a topic empty: so the snapshot
   * keeps the list as it is. Sorted, so that the next one in turn is a binary search away however many are busy.
   */
  private readonly ready: number[] = [];
  /** The position of the topic a fresh message was last taken from (-1: none yet). */
  turn = -1;
  nextKey = 0;
  /** key -> where the message is, for every message out (held by a member, waiting for redelivery). */
  readonly refs = new Map<number, MessageRef>();

  constructor(
    text: string,
    /** The group's dead-letter topic: never read, even when the pattern matches it (a group would eat its own). */
    private readonly deadLetter: string,
  ) {
    this.pattern = new TopicPattern(text);
  }

  /** Whether `topic` is one the group reads (matched before, or matching now); a new match starts at `start`. */
  consider(topic: string, start: number): void {
    if (this.positions.has(topic) || topic === this.deadLetter || !this.pattern.matches(topic)) return;
    this.add(topic, start);
  }

  /** Adds a matched topic (also when a snapshot is restored, in the order it had). */
  add(topic: string, cursor: number): void {
    assert(!this.positions.has(topic), () => `pattern ${this.pattern.text}: topic ${topic} matched twice`);
    const at = this.topics.length;
    this.positions.set(topic, at);
    this.topics.push(topic);
    this.cursors.push(cursor);
    this.markReady(at);
  }

  /** A message was stored on `topic`. */
  appended(topic: string): void {
    const at = this.positions.get(topic);
    if (at !== undefined) this.markReady(at);
  }

  /** Whether some topic may have messages never handed out. */
  get hasReady(): boolean {
    return this.ready.length > 0;
  }

  /** The positions of the topics that may have messages not handed out, ascending (for a snapshot). */
  get readyTopics(): readonly number[] {
    return this.ready;
  }

  /**
   * For a restore: exactly the topics the snapshot's replica had as ready (ascending positions of matched topics).
   * Which stale ones it kept is not implied by the rest of the state, yet decides whether a fill moves the group's
   * member turn before it finds nothing to hand out (Group.fill).
   */
  restoreReady(positions: readonly number[]): void {
    this.ready.length = 0;
    this.ready.push(...positions);
  }

  /** Where the message `key` is; undefined once it is not out any more. */
  locate(key: number): { topic: string; offset: number } | undefined {
    const ref = this.refs.get(key);
    return ref === undefined ? undefined : { topic: this.topics[ref[0]] as string, offset: ref[1] };
  }

  /** The message `key` is done with (acknowledged, dropped, or a dead letter that carries its own place). */
  forget(key: number): void {
    this.refs.delete(key);
  }

  /**
   * The next message never handed out, round the topics with messages waiting, as a new key; messages retention or
   * their TTL removed before they were handed out are skipped and counted with `dropped`.
   */
  takeFresh(
    topics: TopicLookup,
    time: number,
    dropped: (n: number) => void,
  ): { key: number; size: number } | undefined {
    while (this.ready.length > 0) {
      const i = this.nextReady();
      const at = this.ready[i] as number;
      const view = topics(this.topics[at] as string);
      let cursor = this.cursors[at] as number;
      if (view !== undefined && cursor < view.firstOffset) {
        dropped(view.firstOffset - cursor);
        cursor = view.firstOffset;
      }
      if (view === undefined || cursor >= view.nextOffset) {
        this.cursors[at] = cursor;
        this.ready.splice(i, 1);
        continue;
      }
      this.turn = at;
      this.cursors[at] = cursor + 1;
      if (view.expired(cursor, time)) {
        dropped(1);
        continue;
      }
      const key = this.nextKey++;
      this.refs.set(key, [at, cursor]);
      return { key, size: view.sizeAt(cursor) };
    }
    return undefined;
  }

  /** Where in `ready` the topic after the one served last is (by position, wrapping round to the first). */
  private nextReady(): number {
    const after = this.firstAbove(this.turn);
    return after < this.ready.length ? after : 0;
  }

  private markReady(at: number): void {
    const i = this.firstAbove(at - 1);
    if (this.ready[i] !== at) this.ready.splice(i, 0, at);
  }

  /** The index in `ready` of its first position above `position` (its length when there is none). */
  private firstAbove(position: number): number {
    let lo = 0;
    let hi = this.ready.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.ready[mid] as number) > position) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
