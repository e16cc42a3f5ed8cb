import { assert } from "../../util/assert.ts";
import { KeyWindow } from "../../util/key-window.ts";
import { isWildcard } from "../../util/topic-name.ts";
import { ExpiryQueue } from "./expiry-queue.ts";
import type { AckKind, GroupSettings } from "./group-commands.ts";
import {
  type DeadLetter,
  type Delivery,
  type FailReason,
  type Member,
  newMember,
  seqOf,
  sizeOf,
  type TopicView,
} from "./group-records.ts";
import { PatternFeed, type TopicLookup } from "./pattern-feed.ts";

/**
 * One consumer group (a work queue) over one topic or a topic pattern, as every replica holds it: who its members
 * are, which message each one holds unacknowledged (and until when), which are waiting to be handed out again, and
 * how often each was delivered. Messages are known by a key: on one topic their offset, on a pattern a number the
 * group gives each in turn (pattern-feed.ts). Deterministic: messages are handed out in key order (redeliveries
 * first), to live members in turn; deadlines are command time.
 */

/** Unacknowledged bytes one member holds at most (besides its settings' count). */
export const MAX_MEMBER_BYTES = 16 << 20;
/** Messages a group has out at most: held by members, waiting for redelivery or for the dead-letter topic. */
export const MAX_GROUP_IN_FLIGHT = 100_000;
/** Unacknowledged bytes a group's members hold at most together. */
export const MAX_GROUP_BYTES = 256 << 20;
export const MAX_MEMBERS = 1000;
/** Dead letters remembered for `group info` (the messages themselves are on the dead-letter topic). */
export const RECENT_DEAD_LETTERS = 100;

export class Group {
  /** Next offset of the topic never handed out (a group on one topic). */
  cursor = 0;
  /** Where the group started in its topic: the messages before it are none of its business. */
  start = 0;
  readonly outstanding = new KeyWindow<Delivery>();
  /** Offsets waiting to be handed out again, with the deliveries they had; in the order they came back. */
  readonly pending = new Map<number, number>();
  /** Waiting for the leader to publish them on the dead-letter topic, oldest first. */
  readonly dead: DeadLetter[] = [];
  /** Stored on the dead-letter topic, newest last (at most RECENT_DEAD_LETTERS). */
  readonly recentDead: DeadLetter[] = [];
  readonly members = new Map<string, Member>();
  /** Members in join order; `turn` is the one to offer the next message first. */
  readonly order: Member[] = [];
  turn = 0;
  readonly expiry = new ExpiryQueue();
  bytes = 0;
  acked = 0;
  redelivered = 0;
  deadLettered = 0;
  /** Messages retention removed before the group finished them. */
  dropped = 0;
  deadSeq = 0;

  /** Set when the group reads a topic pattern rather than one topic. */
  readonly feed: PatternFeed | undefined;

  constructor(
    readonly name: string,
    /** The topic it reads, or its pattern. */
    readonly topic: string,
    readonly settings: GroupSettings,
  ) {
    this.feed = isWildcard(topic) ? new PatternFeed(topic, settings.deadLetter) : undefined;
  }

  /** Where the message `key` is: its topic and offset (undefined once a pattern group is done with it). */
  locate(key: number): { topic: string; offset: number } | undefined {
    return this.feed === undefined ? { topic: this.topic, offset: key } : this.feed.locate(key);
  }

  /** Whether messages may be waiting that were never handed out; `nextOffsetOf` gives a topic's next offset. */
  mayHaveFresh(nextOffsetOf: (topic: string) => number | undefined): boolean {
    if (this.feed !== undefined) return this.feed.hasReady;
    return this.cursor < (nextOffsetOf(this.topic) ?? 0);
  }

  get inFlight(): number {
    return this.outstanding.size + this.pending.size + this.dead.length;
  }

  /** The keys `member` holds, in the order they were handed to it (the order of `outstanding`, which is by hand-out). */
  heldBy(member: Member | undefined): number[] {
    const keys: number[] = [];
    if (member === undefined || member.holding === 0) return keys;
    for (const [key, delivery] of this.outstanding) if (delivery.member === member) keys.push(key);
    return keys;
  }

  /** Adds the member, or makes it live again. False when the group is full of members that still hold messages. */
  join(id: string, time: number): boolean {
    const known = this.members.get(id);
    if (known !== undefined) {
      known.active = true;
      known.lastSeen = time;
      return true;
    }
    if (this.members.size >= MAX_MEMBERS) {
      const idle = this.order.find((m) => !m.active && m.holding === 0);
      if (idle === undefined) return false;
      this.removeMember(idle);
    }
    this.addMember(newMember(id, true, time));
    return true;
  }

  addMember(member: Member): void {
    this.members.set(member.id, member);
    this.order.push(member);
  }

  /** The member is gone: what it held counts as a failed delivery. Returns how many messages it held. */
  leave(member: Member, time: number): number {
    const held = this.heldBy(member);
    for (const offset of held) this.fail(offset, this.take(offset), "member-left", time);
    this.removeMember(member);
    return held.length;
  }

  /** Settles delivery `attempt` of `offset`; false when the member does not hold that delivery. */
  settle(member: Member, kind: AckKind, offset: number, attempt: number, time: number): boolean {
    const delivery = this.outstanding.get(offset);
    if (delivery === undefined || delivery.member !== member || delivery.attempt !== attempt) return false;
    if (kind === "progress") {
      const deadline = time + this.settings.ackWaitMs;
      // its deadline stays where it is (a note in the ms of the delivery, an offset named twice in one ack): a second
      // entry equal to the live one would be written twice to a snapshot, which then could not be restored
      if (deadline === delivery.deadline) return true;
      if (delivery.sizes.length === 1) delivery.deadline = deadline;
      else {
        // the other keys of its run keep theirs: this one gets a run of its own, in the same place among the member's
        const own: Delivery = {
          member,
          attempt,
          deadline,
          first: offset,
          sizes: [sizeOf(delivery, offset)],
          seq: seqOf(delivery, offset),
        };
        this.outstanding.set(offset, own);
        if (member.lastRun === delivery) member.lastRun = undefined;
      }
      this.expiry.push(offset, attempt, deadline);
      this.pruneExpiry();
      return true;
    }
    this.remove(offset, delivery);
    if (kind === "ack") {
      this.acked++;
      this.feed?.forget(offset);
    } else this.fail(offset, delivery, "nak", time);
    return true;
  }

  /** Whether a deadline entry is the current one of an outstanding delivery. */
  isLive(offset: number, attempt: number, deadline: number): boolean {
    const delivery = this.outstanding.get(offset);
    return delivery !== undefined && delivery.attempt === attempt && delivery.deadline === deadline;
  }

  /**
   * Takes back every delivery whose deadline has passed at `time`. Its member is marked stale, unless retention
   * removed the message meanwhile: then the member could not have been given it, and the group counts it dropped.
   */
  expire(time: number, topics: TopicLookup): void {
    for (let due = this.expiry.due(time); due !== undefined; due = this.expiry.due(time)) {
      if (!this.isLive(due.offset, due.attempt, due.deadline)) continue;
      const delivery = this.take(due.offset);
      if (this.deliverable(due.offset, topics, time) === undefined) {
        this.dropped++;
        this.feed?.forget(due.offset);
        continue;
      }
      delivery.member.active = false;
      this.fail(due.offset, delivery, "ack-wait", time);
    }
  }

  /** The earliest deadline of a delivery (Infinity for none); a stale queue entry may make it early, never late. */
  nextDeadline(): number {
    return this.expiry.first();
  }

  /** Hands out what there is to hand out, redeliveries first, while members have room. */
  fill(topics: TopicLookup, time: number): void {
    const topic = this.feed === undefined ? topics(this.topic) : undefined;
    // the share of a run (settings.run), taken once a fill: the waiting messages among the members with room then
    let share: number | undefined;
    while (this.bytes < MAX_GROUP_BYTES) {
      // the topic's view is taken once: looking it up per message cost a view object each
      const fresh =
        this.inFlight < MAX_GROUP_IN_FLIGHT &&
        (this.feed === undefined ? topic !== undefined && this.cursor < topic.nextOffset : this.feed.hasReady);
      if (this.pending.size === 0 && !fresh) return;
      const member = this.nextMember();
      if (member === undefined) return;
      if (this.pending.size > 0) {
        const key = this.pending.keys().next().value as number;
        const attempts = this.pending.get(key) as number;
        this.pending.delete(key);
        const view = this.deliverable(key, topics, time);
        if (view === undefined) {
          this.dropped++;
          this.feed?.forget(key);
        } else this.assign(member, key, attempts + 1, view.sizeAt(this.locate(key)?.offset as number), time);
        continue;
      }
      if (this.inFlight >= MAX_GROUP_IN_FLIGHT) return;
      if (this.feed !== undefined) {
        const taken = this.feed.takeFresh(topics, time, (n) => {
          this.dropped += n;
        });
        if (taken === undefined) return;
        this.assign(member, taken.key, 1, taken.size, time);
        continue;
      }
      if (topic === undefined) return;
      if (this.cursor < topic.firstOffset) {
        this.dropped += topic.firstOffset - this.cursor;
        this.cursor = topic.firstOffset;
      }
      if (this.cursor >= topic.nextOffset) return;
      if (this.settings.run === undefined) this.handOut(member, topic, time);
      else {
        share ??= this.share(topic.nextOffset - this.cursor);
        for (let n = Math.min(this.settings.run, share); n > 0 && this.memberHasRoom(member); n--)
          if (!this.handOut(member, topic, time)) break;
      }
    }
  }

  /** Hands the message at the cursor to `member`; false when there is none (the topic's end). */
  private handOut(member: Member, topic: TopicView, time: number): boolean {
    if (this.cursor >= topic.nextOffset || this.inFlight >= MAX_GROUP_IN_FLIGHT || this.bytes >= MAX_GROUP_BYTES)
      return false;
    const offset = this.cursor++;
    // a message whose TTL ran out is never delivered; retention removes it in its turn
    if (topic.expired(offset, time)) this.dropped++;
    else this.assign(member, offset, 1, topic.sizeAt(offset), time);
    return true;
  }

  /**
   * A group with runs (settings.run) gives each member in turn up to this many of `waiting` fresh messages: an
   * equal share among the live members with room, so that a few messages still go to as many members as one at a
   * time would (a job queue's workers), while a backlog goes in runs that members ack as ranges.
   */
  private share(waiting: number): number {
    let withRoom = 0;
    for (const m of this.order) if (m.active && this.memberHasRoom(m)) withRoom++;
    return Math.max(1, Math.ceil(waiting / Math.max(1, withRoom)));
  }

  private memberHasRoom(member: Member): boolean {
    return member.holding < this.settings.maxPending && member.bytes < MAX_MEMBER_BYTES;
  }

  /** The view of the topic of message `key` if it can still be delivered; undefined if retention or its TTL removed it. */
  private deliverable(key: number, topics: TopicLookup, time: number): TopicView | undefined {
    const at = this.locate(key);
    const view = at === undefined ? undefined : topics(at.topic);
    if (at === undefined || view === undefined || at.offset < view.firstOffset || view.expired(at.offset, time))
      return undefined;
    return view;
  }

  /** The dead letter `seq` is on the dead-letter topic at `offset`. False if it was not waiting (a duplicate). */
  deadLetterStored(seq: number, offset: number): boolean {
    const at = this.dead.findIndex((d) => d.seq === seq);
    if (at < 0) return false;
    const [letter] = this.dead.splice(at, 1) as [DeadLetter];
    letter.storedAt = offset;
    this.recentDead.push(letter);
    if (this.recentDead.length > RECENT_DEAD_LETTERS) this.recentDead.shift();
    return true;
  }

  assign(member: Member, offset: number, attempt: number, size: number, time: number): void {
    const deadline = time + this.settings.ackWaitMs;
    const seq = member.assignedBase + member.assigned.length;
    const run = member.lastRun;
    if (
      run !== undefined &&
      run.attempt === attempt &&
      run.deadline === deadline &&
      run.first + run.sizes.length === offset &&
      run.seq + run.sizes.length === seq
    ) {
      run.sizes.push(size);
      this.outstanding.set(offset, run);
    } else {
      const made: Delivery = { member, attempt, deadline, first: offset, sizes: [size], seq };
      this.outstanding.set(offset, made);
      member.lastRun = made;
    }
    member.holding++;
    member.bytes += size;
    member.assigned.push(offset);
    // the front is what the broker pushed long ago; a consumer further behind than this goes over what it holds instead
    if (member.assigned.length > 2 * this.settings.maxPending + 64) {
      const cut = member.assigned.length >> 1;
      member.assigned.splice(0, cut);
      member.assignedBase += cut;
    }
    this.bytes += size;
    this.expiry.push(offset, attempt, deadline);
    this.pruneExpiry();
  }

  /**
   * A settled delivery leaves its deadline in the queue until it falls due, and so does a deadline a progress note
   * extended: with a long ack wait (up to a day) the queue would hold an entry per message delivered in that time.
   * Dropping the stale ones whenever they outnumber the live ones keeps it within twice the outstanding deliveries
   * (which are bounded), at a cost per delivery that does not grow. The queue's stale entries decide nothing (each
   * is recognised when it falls due), so when they are dropped makes no difference to the replicated state.
   */
  private pruneExpiry(): void {
    if (this.expiry.size > 2 * this.outstanding.size + 1024) this.expiry.prune((o, a, d) => this.isLive(o, a, d));
  }

  private take(offset: number): Delivery {
    const delivery = this.outstanding.get(offset);
    // not assert(cond, () => ...): the closure would be made for every message taken back
    if (delivery === undefined) assert(false, `group ${this.name}: offset ${offset} is not outstanding`);
    this.remove(offset, delivery);
    return delivery;
  }

  /** Takes back `delivery` of `offset`, which the caller found outstanding (one lookup per message settled). */
  private remove(offset: number, delivery: Delivery): void {
    this.outstanding.delete(offset);
    const size = sizeOf(delivery, offset);
    delivery.member.holding--;
    delivery.member.bytes -= size;
    this.bytes -= size;
  }

  private fail(key: number, delivery: Delivery, reason: FailReason, time: number): void {
    if (delivery.attempt >= this.settings.maxDeliver) {
      this.deadLettered++;
      const seq = ++this.deadSeq;
      const at = this.locate(key);
      assert(at !== undefined, () => `group ${this.name}: message ${key} failed while not out`);
      if (this.feed === undefined) this.dead.push({ seq, offset: key, attempts: delivery.attempt, reason, time });
      else {
        this.dead.push({ seq, offset: at.offset, topic: at.topic, attempts: delivery.attempt, reason, time });
        this.feed.forget(key);
      }
    } else {
      this.redelivered++;
      this.pending.set(key, delivery.attempt);
    }
  }

  private removeMember(member: Member): void {
    assert(member.holding === 0, () => `group ${this.name}: member ${member.id} removed while holding messages`);
    this.members.delete(member.id);
    const at = this.order.indexOf(member);
    this.order.splice(at, 1);
    if (this.turn > at) this.turn--;
    // the last member's turn passes to the first (as the modulo in nextMember reads it), so a snapshot holds a valid turn
    if (this.turn >= this.order.length) this.turn = 0;
  }

  /** The next live member in turn with room for one more message. */
  private nextMember(): Member | undefined {
    const n = this.order.length;
    for (let i = 0; i < n; i++) {
      const at = (this.turn + i) % n;
      const member = this.order[at] as Member;
      if (member.active && this.memberHasRoom(member)) {
        this.turn = (at + 1) % n;
        return member;
      }
    }
    return undefined;
  }
}
