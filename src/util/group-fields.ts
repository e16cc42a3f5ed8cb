import * as v from "valibot";
import { SubscriptionNameSchema, TopicSchema } from "./names.ts";
import { TopicPatternSchema } from "./topic-name.ts";
import { wholeNumbersSchema } from "./whole-numbers.ts";

/**
 * The fields a consumer group's requests (src/wire/messages/group.ts) share with the replicated commands the leader
 * proposes for them (src/broker/groups/group-commands.ts), defined once here, below both layers: a request the wire
 * accepts is a command the state machine accepts, and the limits cannot drift apart (request-fields.ts does the same
 * for the admin requests).
 */

/** Settles one group-ack carries at most: the client library sends a member's settles of one turn together. */
export const MAX_SETTLES_PER_ACK = 1000;
/** The longest ack wait a group may have (a day). */
export const MAX_ACK_WAIT_MS = 24 * 3600 * 1000;
/** The most deliveries of one message a group may allow. */
export const MAX_MAX_DELIVER = 1000;
/** The most messages one member may be allowed to hold unacknowledged. */
export const MAX_MAX_PENDING = 10_000;

const limit = (max: number) =>
  v.pipe(
    v.number(),
    v.safeInteger("expected a whole number"),
    v.minValue(1, "expected a number of at least 1"),
    v.maxValue(max, `expected at most ${max}`),
  );

/** How a group works, fixed when it is created. */
export const GROUP_SETTINGS_FIELDS = {
  /** A delivery not acknowledged within this long (command time) is taken back and handed out again. */
  ackWaitMs: limit(MAX_ACK_WAIT_MS),
  /** Deliveries of one message at most; the last failed one sends it to the dead-letter topic. */
  maxDeliver: limit(MAX_MAX_DELIVER),
  deadLetter: TopicSchema,
  /** Unacknowledged deliveries one member holds at most (by count). */
  maxPending: limit(MAX_MAX_PENDING),
  /** Where a new group starts in its topic. */
  from: v.picklist(["earliest", "latest"]),
};

/** A member joining its group: `consume` on the wire, `group-join` in the log. */
export const GROUP_JOIN_FIELDS = {
  group: SubscriptionNameSchema,
  /** A topic, or a pattern (`orders.>`): then the group reads every topic it matches, also those created later. */
  topic: TopicPatternSchema,
  /** The member's name, kept across its reconnects so that what it holds stays its own. */
  member: SubscriptionNameSchema,
};

/**
 * Settles as runs of consecutive offsets (keys), flat: `[first, count, attempt, first, count, attempt, ...]`, each
 * settling delivery `attempt` of offsets `first` to `first + count - 1`. Checked in one pass, like the offsets.
 */
export function settleRangesSchema(maxSettles: number) {
  return v.custom<number[]>(
    (x) => Array.isArray(x) && x.length % 3 === 0 && x.length <= 3 * maxSettles && rangesFit(x, maxSettles),
    `expected [first, count, attempt] triples of whole numbers (count and attempt at least 1), at most ${maxSettles} settles in all`,
  );
}

/** Calls `settle` for each offset the `[first, count, attempt]` triples name, in order, with its attempt. */
export function forEachRangedSettle(
  ranges: readonly number[],
  settle: (offset: number, attempt: number) => void,
): void {
  for (let r = 0; r < ranges.length; r += 3) {
    const first = ranges[r] as number;
    const end = first + (ranges[r + 1] as number);
    const attempt = ranges[r + 2] as number;
    for (let offset = first; offset < end; offset++) settle(offset, attempt);
  }
}

function rangesFit(x: unknown[], maxSettles: number): boolean {
  let total = 0;
  for (let i = 0; i < x.length; i += 3) {
    const [first, count, attempt] = [x[i], x[i + 1], x[i + 2]];
    if (!Number.isSafeInteger(first) || (first as number) < 0) return false;
    if (!Number.isSafeInteger(count) || (count as number) < 1) return false;
    if (!Number.isSafeInteger(attempt) || (attempt as number) < 1) return false;
    if (!Number.isSafeInteger((first as number) + (count as number))) return false;
    total += count as number;
  }
  return total <= maxSettles;
}

export const AckKindSchema = v.picklist(["ack", "nak", "progress"]);
export type AckKind = v.InferOutput<typeof AckKindSchema>;

/**
 * A member settling messages it holds: `ack`: done, never delivered again; `nak`: failed, handed out again at once;
 * `progress`: still working, the ack wait starts again.
 */
export const GROUP_ACK_FIELDS = {
  group: SubscriptionNameSchema,
  member: SubscriptionNameSchema,
  kind: AckKindSchema,
  /**
   * The offsets settled (in a group on a pattern, the messages' keys). None: the member only says it is alive (an
   * idle member's heartbeat, the answer to a `group-ping`), which makes a member whose deliveries expired take
   * messages again.
   */
  offsets: wholeNumbersSchema(0, MAX_SETTLES_PER_ACK),
  /**
   * The delivery each settle is about (its attempt), one per offset: a late settle of an earlier delivery must not
   * settle the message handed to the same member again since (after a nak, an expiry, a leave and rejoin).
   */
  attempts: wholeNumbersSchema(1, MAX_SETTLES_PER_ACK),
  /**
   * More settles, as runs of consecutive offsets with one attempt each (settleRangesSchema), after `offsets`: a member
   * given runs (command version 4) acks hundreds of messages in a few numbers. Offsets and ranges together settle
   * at most MAX_SETTLES_PER_ACK (checked where both are known).
   */
  ranges: v.optional(settleRangesSchema(MAX_SETTLES_PER_ACK)),
};
