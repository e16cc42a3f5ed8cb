import { decodeEntryMessages } from "../broker/command-codec.ts";
import type { Command, PublishMessage } from "../broker/commands.ts";
import { GROUP_RUNS_VERSION, type GroupAckCommand, type GroupSettings } from "../broker/groups/group-commands.ts";
import type { DeadLetter } from "../broker/groups/group-records.ts";
import { DEAD_LETTER_PRODUCER } from "../broker/groups/groups.ts";
import type { ApplyResult } from "../broker/results.ts";
import type { BrokerState } from "../broker/state-machine.ts";
import { MqraftError } from "../util/errors.ts";
import { forEachRangedSettle } from "../util/group-fields.ts";
import { type HeaderPairs, isHeaders } from "../util/message-headers.ts";
import { isWildcard } from "../util/topic-name.ts";
import type { Consume } from "../wire/index.ts";
import { EntryMessagesCache } from "./entry-messages-cache.ts";
import { type EntryMessages, GroupConsumer, type GroupSink } from "./group-consumer.ts";
import type { PublishOutcome } from "./publish-batcher.ts";
import type { EntryReader } from "./subscription-feed.ts";

/** Defaults of a new group (docs/messaging.md, "Work queues"). */
export const DEFAULT_ACK_WAIT_MS = 30_000;
export const DEFAULT_MAX_DELIVER = 5;
export const DEFAULT_MAX_PENDING = 1000;
/**
 * The longest run of consecutive messages a group created on a cluster that applies command version 4 hands one
 * member at once (group.ts fill): its acks then name a few ranges instead of every offset.
 */
export const DEFAULT_RUN = 256;
const TICK_RETRY_MS = 1000;

export interface GroupServiceHost {
  state(): BrokerState;
  read: EntryReader;
  propose(command: Command): Promise<ApplyResult>;
  publish(message: PublishMessage, done: (outcome: PublishOutcome) => void): void;
  /** Command time, as the leader stamps it. */
  now(): number;
  defer(fn: () => void): void;
  isLeader(): boolean;
  /** Every member of the configuration applies command version `version` (command-versions.ts). */
  membersApply(version: number): boolean;
}

/**
 * The node's side of consumer groups. Members connect to the leader: it proposes their joins, acks and leaves, and
 * pushes to each the messages the replicated group state assigns to it. As leader it also moves command time when an
 * ack-wait deadline has passed and nothing else would (group-tick), and publishes dead letters. A broker that loses
 * the leadership ends its members' streams (NOT_LEADER): they join the new leader under the same member names, and
 * find there what they held, as the group state is replicated.
 */
export class GroupService {
  private readonly consumers = new Set<GroupConsumer>();
  private scheduled = false;
  /** Command time of the group-tick in flight (0: none); one left unanswered for a second is proposed again. */
  private tickAt = 0;
  /** Dead letters being published ("group\0seq"), so that each is proposed once per leader. */
  private readonly deadInFlight = new Set<string>();

  private readonly entries: EntryMessages;
  /** Given to the state machine while this broker pushes to members: it hears of each publish entry applied. */
  private readonly onPublishEntry: (index: number, messages: readonly unknown[]) => void;

  /** Publish entries kept decoded for the members' pushes (docs/memory.md), for /metrics. */
  readonly decodedEntries: EntryMessagesCache;

  constructor(private readonly host: GroupServiceHost) {
    const cache = new EntryMessagesCache(host.read);
    this.decodedEntries = cache;
    this.entries = (index) => cache.messages(index);
    this.onPublishEntry = (index, messages) => cache.applied(index, messages);
  }

  get size(): number {
    return this.consumers.size;
  }

  /** Joins `m.member` to the group (creating it) and returns the consumer that pushes its messages to `sink`. */
  async consume(id: number, m: Consume, sink: GroupSink): Promise<GroupConsumer> {
    if (!this.host.isLeader()) throw new MqraftError("NOT_LEADER", "this broker is not the leader");
    const settings: GroupSettings = {
      ackWaitMs: m.ackWaitMs ?? DEFAULT_ACK_WAIT_MS,
      maxDeliver: m.maxDeliver ?? DEFAULT_MAX_DELIVER,
      // a pattern's own `.dlq` is no topic name; the group's is
      deadLetter: m.deadLetter ?? `${isWildcard(m.topic) ? m.group : m.topic}.dlq`,
      maxPending: m.maxPending ?? DEFAULT_MAX_PENDING,
      from: m.from ?? "earliest",
    };
    // runs need every replica to hand them out alike; a group on a pattern goes round its topics one at a time
    const runs = !isWildcard(m.topic) && this.host.membersApply(GROUP_RUNS_VERSION);
    const r = await this.host.propose({
      type: "group-join",
      time: this.host.now(),
      group: m.group,
      topic: m.topic,
      member: m.member,
      settings: runs ? { ...settings, run: DEFAULT_RUN } : settings,
      ...(runs ? { v: GROUP_RUNS_VERSION } : {}),
    });
    if (r.type === "error") throw new MqraftError(r.code, r.message);
    const consumer = new GroupConsumer(id, m.group, m.member, sink, m.batch === true, m.runs === true);
    this.consumers.add(consumer);
    this.notify();
    return consumer;
  }

  /**
   * Settles a member's messages as one replicated command, proposed at once: a request already carries all a member
   * settled in one turn, and waiting a turn more to gather others would only lengthen the ack's round trip, which
   * (with maxPending) bounds how fast a member is given work. Resolves with the offsets refused once applied. With no
   * offset the member only says it is alive: a stale one takes messages again. `ranges` ([first, count, attempt]
   * triples) go into the command as they are once every member applies command version 4, else listed one by one.
   */
  async settle(
    group: string,
    member: string,
    kind: "ack" | "nak" | "progress",
    offsets: number[],
    attempts: number[],
    ranges?: number[],
  ): Promise<number[]> {
    if (!this.host.isLeader()) throw new MqraftError("NOT_LEADER", "this broker is not the leader");
    const time = this.host.now();
    let command: GroupAckCommand = { type: "group-ack", time, group, member, kind, offsets, attempts };
    if (ranges !== undefined && ranges.length > 0) {
      if (this.host.membersApply(GROUP_RUNS_VERSION)) command = { ...command, ranges, v: GROUP_RUNS_VERSION };
      else command = { ...command, ...expandRanges(offsets, attempts, ranges) };
    }
    const r = await this.host.propose(command);
    if (r.type === "error") throw new MqraftError(r.code, r.message);
    if (r.type !== "group-ack") throw new MqraftError("INTERNAL", `a group-ack was answered by ${r.type}`);
    return r.refused;
  }

  /**
   * The member's connection closed or it unsubscribed: as leader, what it held goes to the others at once. Also when
   * this fails (no leader now), nothing is lost: its deliveries expire after the ack wait.
   */
  leave(consumer: GroupConsumer): void {
    if (!this.consumers.delete(consumer) || !this.host.isLeader()) return;
    const { group, member } = consumer;
    // the same member may have joined again on another connection meanwhile: leave only if none holds it here
    for (const other of this.consumers) if (other.group === group && other.member === member) return;
    this.host.propose({ type: "group-leave", time: this.host.now(), group, member }).catch(() => {});
  }

  /** Entries were applied (or a snapshot installed): push new assignments. */
  notify(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.host.defer(() => {
      this.scheduled = false;
      this.pumpAll();
    });
  }

  /** At every heartbeat: as leader, move command time past a passed deadline, and publish dead letters. */
  tick(): void {
    if (!this.host.isLeader()) {
      if (this.consumers.size > 0) this.pumpAll();
      return;
    }
    const state = this.host.state();
    const now = this.host.now();
    if ((this.tickAt === 0 || now - this.tickAt > TICK_RETRY_MS) && state.groups.nextDeadline() <= now) {
      const at = now;
      this.tickAt = at;
      this.host
        .propose({ type: "group-tick", time: at })
        .catch(() => {})
        .finally(() => {
          if (this.tickAt === at) this.tickAt = 0;
        });
    }
    this.publishDeadLetters(state);
    this.pingStale(state, now);
  }

  /**
   * A member whose deliveries expired gets nothing new until it shows it is alive; when its group has messages
   * waiting, ask it (every third of the ack wait). A frozen process cannot answer, and stays out.
   */
  private pingStale(state: BrokerState, now: number): void {
    for (const consumer of this.consumers) {
      const group = state.groups.get(consumer.group);
      const member = group?.members.get(consumer.member);
      if (group === undefined || member === undefined || member.active || member.holding > 0) continue;
      const waiting = group.pending.size > 0 || group.mayHaveFresh((t) => state.topicInfo(t)?.nextOffset);
      if (!waiting || now - consumer.pingedAt < group.settings.ackWaitMs / 3) continue;
      consumer.pingedAt = now;
      consumer.ping();
    }
  }

  private pumpAll(): void {
    const leader = this.host.isLeader();
    const state = this.host.state();
    this.observe(state);
    for (const consumer of this.consumers) {
      // a connection that closed without its session saying so: the member's deliveries expire by themselves
      if (!consumer.isOpen) {
        this.consumers.delete(consumer);
        continue;
      }
      if (!leader) {
        consumer.end(new MqraftError("NOT_LEADER", "this broker is no longer the leader; join the new one"));
        this.consumers.delete(consumer);
        continue;
      }
      const member = consumer.pump(state, this.entries);
      if (member === undefined) {
        consumer.end(new MqraftError("NOT_FOUND", `member ${consumer.member} is no longer in group ${consumer.group}`));
        this.consumers.delete(consumer);
      }
    }
  }

  /**
   * Lets the state machine hand over each publish entry it applies while there are members to push to (the state
   * may be a new one since, after a snapshot was installed); a broker with none keeps no decoded entries.
   */
  private observe(state: BrokerState): void {
    state.onPublishEntry = this.consumers.size > 0 ? this.onPublishEntry : undefined;
  }

  private publishDeadLetters(state: BrokerState): void {
    for (const { group, letters } of state.groups.waitingDeadLetters()) {
      for (const letter of letters) {
        const key = `${group.name}\u0000${letter.seq}`;
        if (this.deadInFlight.has(key)) continue;
        this.deadInFlight.add(key);
        const topic = letter.topic ?? group.topic;
        const at = state.locate(topic, letter.offset);
        const entry = typeof at === "string" ? undefined : this.host.read(at.index);
        const original =
          entry === undefined || typeof at === "string" ? undefined : decodeEntryMessages(entry)[at.slot];
        this.host.publish(
          {
            topic: group.settings.deadLetter,
            data: original?.data ?? new Uint8Array(0),
            producer: `${DEAD_LETTER_PRODUCER}${group.name}`,
            seq: letter.seq,
            headers: deadLetterHeaders(group.name, topic, letter, original?.headers),
          },
          () => this.deadInFlight.delete(key),
        );
      }
    }
  }
}

/** Offsets and attempts with `ranges` ([first, count, attempt] triples) listed after them one by one. */
export function expandRanges(
  offsets: readonly number[],
  attempts: readonly number[],
  ranges: readonly number[],
): { offsets: number[]; attempts: number[] } {
  const allOffsets = [...offsets];
  const allAttempts = [...attempts];
  forEachRangedSettle(ranges, (offset, attempt) => {
    allOffsets.push(offset);
    allAttempts.push(attempt);
  });
  return { offsets: allOffsets, attempts: allAttempts };
}

/**
 * Why a message is on the dead-letter topic, as headers (docs/messaging.md), before the message's own; its own are
 * left out if both together pass the limits on headers.
 */
export function deadLetterHeaders(
  group: string,
  topic: string,
  letter: DeadLetter,
  own: HeaderPairs | undefined,
): HeaderPairs {
  const why: HeaderPairs = [
    ["mqraft-dead-letter-reason", letter.reason],
    ["mqraft-deliveries", String(letter.attempts)],
    ["mqraft-group", group],
    ["mqraft-topic", topic],
    ["mqraft-offset", String(letter.offset)],
  ];
  const all = [...why, ...(own ?? [])];
  return isHeaders(all) ? all : why;
}
