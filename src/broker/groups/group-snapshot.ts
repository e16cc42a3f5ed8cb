import * as v from "valibot";
import { MqraftError } from "../../util/errors.ts";
import { SubscriptionNameSchema, TopicSchema, WholeNumberSchema } from "../../util/names.ts";
import { TopicPatternSchema } from "../../util/topic-name.ts";
import { Group, RECENT_DEAD_LETTERS } from "./group.ts";
import { GroupSettingsSchema } from "./group-commands.ts";
import { type DeadLetter, newMember, sizeOf } from "./group-records.ts";

/**
 * Consumer groups in the state machine's snapshot: one CBOR value per group in the snapshot's
 * header (docs/state-machine.md). Outstanding deliveries are tuples, so that 100,000 of them stay
 * a few MB. What is derived (each member's held messages and bytes) is rebuilt on restore; what
 * decides the order of later hand-outs (member order and turn, the redelivery and deadline queues)
 * is kept as it was, so a restored replica goes on exactly as the one that took the snapshot.
 */

const Whole = WholeNumberSchema;
const ReasonSchema = v.picklist(["nak", "ack-wait", "member-left"]);
// strict: a plain tuple takes a longer array and drops what is past its items, so a pattern group's letter
// matched the first form and lost its topic
const DeadSchema = v.union([
  v.strictTuple([Whole, Whole, Whole, ReasonSchema, Whole, v.nullable(Whole)]),
  /** In a group on a pattern: the message's topic last. */
  v.strictTuple([Whole, Whole, Whole, ReasonSchema, Whole, v.nullable(Whole), TopicSchema]),
]);

/** What a group on a topic pattern adds (pattern-feed.ts). */
const PatternFeedSchema = v.object({
  /** [topic, next offset never handed out] in the order they matched. */
  topics: v.array(v.tuple([TopicSchema, Whole])),
  /** The position of the topic served last, -1 for none. */
  turn: v.pipe(v.number(), v.safeInteger(), v.minValue(-1)),
  nextKey: Whole,
  /** [key, topic position, offset] of every message out. */
  refs: v.array(v.tuple([Whole, Whole, Whole])),
  /**
   * Positions of the topics that may have messages not handed out, ascending. Absent in a snapshot of an older
   * build: the topics with messages past their cursor are taken then (restoreGroup).
   */
  ready: v.optional(v.array(Whole)),
});

export const GroupSnapshotSchema = v.object({
  name: SubscriptionNameSchema,
  topic: TopicPatternSchema,
  settings: GroupSettingsSchema,
  cursor: Whole,
  start: Whole,
  turn: Whole,
  counts: v.tuple([Whole, Whole, Whole, Whole, Whole]),
  /** [id, active, lastSeen] in join order. */
  members: v.array(v.tuple([SubscriptionNameSchema, v.boolean(), Whole])),
  /** [offset, member (its position in members), attempt, deadline, size], in the order handed out. */
  outstanding: v.array(v.tuple([Whole, Whole, Whole, Whole, Whole])),
  /** [offset, deliveries so far] in redelivery order. */
  pending: v.array(v.tuple([Whole, Whole])),
  /** [offset, attempt, deadline] live entries of the deadline queue, in order. */
  expiry: v.array(v.tuple([Whole, Whole, Whole])),
  /** [seq, offset, attempts, reason, time, offset on the dead-letter topic or null while waiting] */
  dead: v.array(DeadSchema),
  recentDead: v.pipe(v.array(DeadSchema), v.maxLength(RECENT_DEAD_LETTERS)),
  /** Only in a group on a topic pattern. */
  pattern: v.optional(PatternFeedSchema),
});
export type GroupSnapshot = v.InferOutput<typeof GroupSnapshotSchema>;

function deadTuple(d: DeadLetter): GroupSnapshot["dead"][number] {
  const tuple = [d.seq, d.offset, d.attempts, d.reason, d.time, d.storedAt ?? null] as const;
  return d.topic === undefined ? [...tuple] : [...tuple, d.topic];
}

function deadLetter(t: GroupSnapshot["dead"][number]): DeadLetter {
  const [seq, offset, attempts, reason, time, storedAt, topic] = t;
  return {
    seq,
    offset,
    attempts,
    reason,
    time,
    ...(storedAt === null ? {} : { storedAt }),
    ...(topic === undefined ? {} : { topic }),
  };
}

export function groupSnapshot(g: Group): GroupSnapshot {
  const position = new Map(g.order.map((m, i) => [m, i]));
  return {
    name: g.name,
    topic: g.topic,
    settings: g.settings,
    cursor: g.cursor,
    start: g.start,
    turn: g.turn,
    counts: [g.acked, g.redelivered, g.deadLettered, g.dropped, g.deadSeq],
    members: g.order.map((m) => [m.id, m.active, m.lastSeen]),
    outstanding: Array.from(g.outstanding, ([offset, d]) => [
      offset,
      position.get(d.member) as number,
      d.attempt,
      d.deadline,
      sizeOf(d, offset),
    ]),
    pending: [...g.pending],
    expiry: liveExpiry(g),
    dead: g.dead.map(deadTuple),
    recentDead: g.recentDead.map(deadTuple),
    ...(g.feed === undefined
      ? {}
      : {
          pattern: {
            topics: g.feed.topics.map((t, i) => [t, g.feed?.cursors[i] as number]),
            turn: g.feed.turn,
            nextKey: g.feed.nextKey,
            refs: Array.from(g.feed.refs, ([key, [at, offset]]) => [key, at, offset]),
            ready: [...g.feed.readyTopics],
          },
        }),
  };
}

/**
 * The live entries of the group's deadline queue, in order, each once: an older build queued a live entry
 * again when a progress note left its deadline where it was (the later copy is recognised as stale when it falls due).
 */
function liveExpiry(g: Group): GroupSnapshot["expiry"] {
  const seen = new Set<number>();
  const live: GroupSnapshot["expiry"] = [];
  for (const [offset, attempt, deadline] of g.expiry.entries()) {
    if (!g.isLive(offset, attempt, deadline) || seen.has(offset)) continue;
    seen.add(offset);
    live.push([offset, attempt, deadline]);
  }
  return live;
}

/**
 * A group from its snapshot; throws MqraftError CORRUPT when the parts do not fit together. `nextOffsetOf` gives the
 * end of each topic, for a pattern group's snapshot from an older build (no `ready`); without it every topic is taken
 * as ready then.
 */
export function restoreGroup(raw: unknown, nextOffsetOf?: (topic: string) => number): Group {
  const parsed = v.safeParse(GroupSnapshotSchema, raw);
  if (!parsed.success) throw corrupt("?", parsed.issues[0]?.message ?? "invalid");
  const s = parsed.output;
  const g = new Group(s.name, s.topic, s.settings);
  if (s.start > s.cursor) throw corrupt(s.name, "it starts past its next offset");
  if ((g.feed === undefined) !== (s.pattern === undefined))
    throw corrupt(s.name, "a pattern's state on a group of one topic, or none on a pattern's");
  // the keys handed out so far: offsets below the cursor on one topic, the feed's own numbers on a pattern
  const keys = s.pattern?.nextKey ?? s.cursor;
  if (g.feed !== undefined && s.pattern !== undefined) {
    for (const [topic, cursor] of s.pattern.topics) {
      if (g.feed.topics.includes(topic)) throw corrupt(s.name, `topic ${topic} appears twice`);
      g.feed.add(topic, cursor);
    }
    if (s.pattern.turn >= g.feed.topics.length) throw corrupt(s.name, "its topic turn is past its topics");
    const ready = s.pattern.ready;
    if (ready !== undefined) {
      for (let i = 0; i < ready.length; i++)
        if ((ready[i] as number) >= g.feed.topics.length || (i > 0 && (ready[i] as number) <= (ready[i - 1] as number)))
          throw corrupt(s.name, "its ready topics are not ascending positions of its topics");
      g.feed.restoreReady(ready);
    } else if (nextOffsetOf !== undefined) {
      // An older build kept no list. Every replica lists a topic with messages past its cursor (listed when each was
      // stored, it leaves the list only once a fill finds it empty), so those are taken; listing every topic would
      // pass the member turn on once more than the others at the next fill, in every upgraded broker. Missed: a
      // topic another replica still lists though empty (a fill took its last message and stopped, no member having
      // room), which nothing in the old snapshot tells.
      const feed = g.feed;
      feed.restoreReady(
        feed.topics.flatMap((topic, at) => ((feed.cursors[at] as number) < nextOffsetOf(topic) ? [at] : [])),
      );
    }
    g.feed.turn = s.pattern.turn;
    g.feed.nextKey = s.pattern.nextKey;
    for (const [key, at, offset] of s.pattern.refs) {
      if (key >= keys || at >= g.feed.topics.length || g.feed.refs.has(key))
        throw corrupt(s.name, `message ${key} does not fit`);
      g.feed.refs.set(key, [at, offset]);
    }
  }
  g.cursor = s.cursor;
  g.start = s.start;
  [g.acked, g.redelivered, g.deadLettered, g.dropped, g.deadSeq] = s.counts;
  for (const [id, active, lastSeen] of s.members) {
    if (g.members.has(id)) throw corrupt(s.name, `member ${id} appears twice`);
    g.addMember(newMember(id, active, lastSeen));
  }
  if (s.turn > 0 && s.turn >= g.order.length) throw corrupt(s.name, "its turn is past its members");
  g.turn = s.turn;
  for (const [offset, at, attempt, deadline, size] of s.outstanding) {
    const member = g.order[at];
    if (member === undefined || offset >= keys || g.outstanding.has(offset) || attempt < 1 || !located(g, offset))
      throw corrupt(s.name, `delivery of offset ${offset} does not fit`);
    g.assign(member, offset, attempt, size, deadline - s.settings.ackWaitMs);
    // assign() queued it; the queue is replaced below by the one the snapshot kept
  }
  g.expiry.prune(() => false);
  const queued = new Set<number>();
  for (const [offset, attempt, deadline] of s.expiry) {
    if (!g.isLive(offset, attempt, deadline)) throw corrupt(s.name, `deadline of offset ${offset} matches no delivery`);
    // an older build wrote an entry twice (liveExpiry): a live entry is the delivery's, so the copy is exactly the
    // same and the first one is the one that decides (the copy would have been skipped as stale when it fell due)
    if (queued.has(offset)) continue;
    queued.add(offset);
    g.expiry.push(offset, attempt, deadline);
  }
  if (g.expiry.size !== g.outstanding.size) throw corrupt(s.name, "a delivery has no deadline");
  for (const [offset, attempts] of s.pending) {
    if (offset >= keys || g.outstanding.has(offset) || g.pending.has(offset) || !located(g, offset))
      throw corrupt(s.name, `redelivery of offset ${offset} does not fit`);
    g.pending.set(offset, attempts);
  }
  if (g.feed !== undefined && g.feed.refs.size !== g.outstanding.size + g.pending.size)
    throw corrupt(s.name, "it keeps the place of a message it does not have out");
  g.dead.push(...s.dead.map(deadLetter));
  g.recentDead.push(...s.recentDead.map(deadLetter));
  return g;
}

/** Whether the group knows where message `key` is (always on one topic; by its feed's refs on a pattern). */
function located(g: Group, key: number): boolean {
  return g.locate(key) !== undefined;
}

function corrupt(group: string, message: string): MqraftError {
  return new MqraftError("CORRUPT", `invalid broker snapshot: group ${group}: ${message}`);
}
