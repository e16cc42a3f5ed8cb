/**
 * What one consumer group's state is made of (group.ts keeps and changes it): the deliveries out, a member, a dead
 * letter, and the group's view of a topic.
 */

export type FailReason = "nak" | "ack-wait" | "member-left";

/**
 * Deliveries made together: consecutive keys from `first` handed to one member at once (a run, settings.run), with
 * one attempt and one deadline. The group's `outstanding` maps each key still out to its run: one record a run
 * instead of one a message (which every replica made and dropped per message). A field shared by the run's keys never
 * changes while the run has more than one key: a progress note on one of several gives that key a run of its own.
 */
export interface Delivery {
  member: Member;
  /** 1 for the first delivery of the message. */
  attempt: number;
  deadline: number;
  /** The key of the run's first message; key `first + i` has size `sizes[i]`. */
  readonly first: number;
  /** The size of each message of the run, by its place (a key taken back keeps its place). */
  readonly sizes: number[];
  /**
   * The place of its first message among the member's assignments, counted from the member's first (`assignedBase`
   * + its index in `assigned` when made), key `first + i` at `seq + i`: the broker serving the member tells by it
   * which deliveries it pushed already. Not replicated (a node-side index, like `assigned`).
   */
  readonly seq: number;
}

/** The size of message `key` of `delivery` (its run). */
export function sizeOf(delivery: Delivery, key: number): number {
  return delivery.sizes[key - delivery.first] as number;
}

/** The place of message `key` of `delivery` (its run) among its member's assignments (Delivery.seq). */
export function seqOf(delivery: Delivery, key: number): number {
  return delivery.seq + key - delivery.first;
}

export interface Member {
  readonly id: string;
  /** False once a delivery to it expired: it gets nothing new until it acks, naks, or joins again. */
  active: boolean;
  lastSeen: number;
  bytes: number;
  /**
   * How many messages it holds. Which ones is read off the group's `outstanding` (heldBy), rarely (a member leaving,
   * a broker starting to push to it): a Set per member cost an insert and a delete per message on every replica.
   */
  holding: number;
  /**
   * The offsets handed to it, in order, from the `assignedBase`-th on: the broker serving it pushes what was added
   * since it last looked instead of going over all it holds. Not replicated (a node-side index), trimmed as it grows.
   */
  assigned: number[];
  assignedBase: number;
  /** The run it was last handed (a next consecutive key with the same attempt and deadline joins it). */
  lastRun: Delivery | undefined;
}

/** A message the group gave up on, waiting to be published on the dead-letter topic by the leader. */
export interface DeadLetter {
  /** The group's own count of dead letters: the publish carries it as its seq, so it is stored once. */
  seq: number;
  /** The message's offset in its topic. */
  offset: number;
  /** Its topic, in a group on a pattern (else the group's topic). */
  topic?: string;
  attempts: number;
  reason: FailReason;
  time: number;
  /** Set once stored on the dead-letter topic. */
  storedAt?: number;
}

/** The messages of the group's topic it can see: the retained range and each message's size. */
export interface TopicView {
  firstOffset: number;
  nextOffset: number;
  sizeAt(offset: number): number;
  /** Its TTL (pub --ttl) ran out at `now`: it is never delivered. */
  expired(offset: number, now: number): boolean;
}

export function newMember(id: string, active: boolean, lastSeen: number): Member {
  return { id, active, lastSeen, bytes: 0, holding: 0, assigned: [], assignedBase: 0, lastRun: undefined };
}
