import { forEachRangedSettle, MAX_SETTLES_PER_ACK } from "../../util/group-fields.ts";
import { type ErrorResult, refusal } from "../results.ts";
import { Group } from "./group.ts";
import type { GroupCommand, GroupJoinCommand, GroupResult } from "./group-commands.ts";
import type { DeadLetter, TopicView } from "./group-records.ts";
import type { TopicLookup } from "./pattern-feed.ts";

/** Consumer groups one state machine holds at most. */
export const MAX_GROUPS = 1000;
/**
 * The producer id under which the leader publishes a group's dead letters (the seq is the group's
 * dead-letter count), so that a dead letter proposed twice, by two leaders, is stored once.
 */
export const DEAD_LETTER_PRODUCER = "mqraft-dlq:";
/** A group's name leaves room for the dead-letter producer prefix within the 255 characters of a producer id. */
export const MAX_GROUP_NAME = 255 - DEAD_LETTER_PRODUCER.length;

export interface GroupInfo {
  name: string;
  topic: string;
  group: Group;
}

/**
 * Every consumer group of the state machine: applies the group commands, takes back expired
 * deliveries as command time passes, and hands out newly published messages.
 */
export class Groups {
  private readonly byName = new Map<string, Group>();
  /** No deadline falls before this (it may be early, never late). */
  private earliest = Infinity;

  /** The groups on a topic pattern: each hears of every message stored (pattern-feed.ts). */
  private patternGroups: Group[] = [];

  constructor(
    private readonly topicOf: TopicLookup,
    /** Every topic, in creation order: a new group on a pattern reads those it matches. */
    private readonly topicNames: () => Iterable<string>,
  ) {}

  get size(): number {
    return this.byName.size;
  }

  get(name: string): Group | undefined {
    return this.byName.get(name);
  }

  /** In creation order. */
  all(): IterableIterator<Group> {
    return this.byName.values();
  }

  /** The earliest ack-wait deadline of any delivery (Infinity for none): the leader ticks once it has passed. */
  nextDeadline(): number {
    return this.earliest;
  }

  apply(command: GroupCommand, time: number): GroupResult | ErrorResult {
    switch (command.type) {
      case "group-join":
        return this.join(command, time);
      case "group-leave": {
        const group = this.byName.get(command.group);
        const member = group?.members.get(command.member);
        if (group === undefined || member === undefined)
          return refusal("NOT_FOUND", `no member ${command.member} in group ${command.group}`);
        const returned = group.leave(member, time);
        this.fill(group, time);
        return { type: "group-leave", group: group.name, member: member.id, returned };
      }
      case "group-ack": {
        if (command.attempts.length !== command.offsets.length)
          return refusal("BAD_MESSAGE", "group-ack needs one attempt per offset");
        const { offsets, attempts, kind, ranges } = command;
        if (ranges !== undefined && offsets.length + rangesTotal(ranges) > MAX_SETTLES_PER_ACK)
          return refusal("BAD_MESSAGE", `a group-ack settles at most ${MAX_SETTLES_PER_ACK} messages`);
        const group = this.byName.get(command.group);
        const member = group?.members.get(command.member);
        if (group === undefined || member === undefined)
          return refusal("NOT_FOUND", `no member ${command.member} in group ${command.group}: join it again`);
        member.active = true;
        member.lastSeen = time;
        let settled = 0;
        const refused: number[] = [];
        for (let i = 0; i < offsets.length; i++) {
          const offset = offsets[i] as number;
          if (group.settle(member, kind, offset, attempts[i] as number, time)) settled++;
          else refused.push(offset);
        }
        // a range settles each of its offsets in turn, exactly as the same offsets listed one by one would
        if (ranges !== undefined)
          forEachRangedSettle(ranges, (offset, attempt) => {
            if (group.settle(member, kind, offset, attempt, time)) settled++;
            else refused.push(offset);
          });
        this.fill(group, time);
        return { type: "group-ack", group: group.name, kind: command.kind, settled, refused };
      }
      case "group-tick":
        return { type: "group-tick" };
      case "group-rm": {
        const group = this.byName.get(command.group);
        if (group === undefined) return refusal("NOT_FOUND", `no group ${command.group}`);
        this.byName.delete(command.group);
        if (group.feed !== undefined) this.patternGroups = this.patternGroups.filter((g) => g !== group);
        return { type: "group-rm", group: command.group };
      }
      default:
        return command satisfies never;
    }
  }

  /** Command time reached `time`: deliveries past their deadline are taken back and handed out again. */
  expire(time: number): void {
    if (time < this.earliest) return;
    this.earliest = Infinity;
    for (const group of this.byName.values()) {
      if (group.nextDeadline() <= time) {
        group.expire(time, this.topicOf);
        this.fill(group, time);
      }
      this.earliest = Math.min(this.earliest, group.nextDeadline());
    }
  }

  /** A message was stored at `offset` of `topic` (0: the topic is new, and may match a pattern). */
  appended(topic: string, offset: number): void {
    for (const group of this.patternGroups) {
      const feed = group.feed as NonNullable<Group["feed"]>;
      if (offset === 0) feed.consider(topic, 0);
      feed.appended(topic);
    }
  }

  /** Messages were published: groups hand them out. */
  published(time: number): void {
    for (const group of this.byName.values()) this.fill(group, time);
  }

  /** Dead letters waiting for the leader to publish them, by group. */
  *waitingDeadLetters(): Generator<{ group: Group; letters: readonly DeadLetter[] }> {
    for (const group of this.byName.values()) if (group.dead.length > 0) yield { group, letters: group.dead };
  }

  /** A publish under a dead-letter producer id was stored: the dead letter it carried is done. */
  deadLetterStored(producer: string, seq: number, offset: number): void {
    if (!producer.startsWith(DEAD_LETTER_PRODUCER)) return;
    this.byName.get(producer.slice(DEAD_LETTER_PRODUCER.length))?.deadLetterStored(seq, offset);
  }

  /** For a snapshot's restore: the groups as they were, in creation order. */
  restore(groups: Group[]): void {
    for (const group of groups) {
      this.byName.set(group.name, group);
      if (group.feed !== undefined) this.patternGroups.push(group);
      this.earliest = Math.min(this.earliest, group.nextDeadline());
    }
  }

  private join(command: GroupJoinCommand, time: number): GroupResult | ErrorResult {
    let group = this.byName.get(command.group);
    const created = group === undefined;
    if (group === undefined) {
      if (command.group.length > MAX_GROUP_NAME)
        return refusal("BAD_MESSAGE", `a group name has at most ${MAX_GROUP_NAME} characters`);
      if (this.byName.size >= MAX_GROUPS)
        return refusal("REFUSED", `there are ${MAX_GROUPS} groups already; remove one first (mqraft group rm)`);
      group = new Group(command.group, command.topic, command.settings);
      const start = (view: TopicView | undefined): number =>
        view === undefined ? 0 : command.settings.from === "earliest" ? view.firstOffset : view.nextOffset;
      if (group.feed === undefined) group.cursor = start(this.topicOf(command.topic));
      else {
        for (const topic of this.topicNames()) group.feed.consider(topic, start(this.topicOf(topic)));
        this.patternGroups.push(group);
      }
      group.start = group.cursor;
      this.byName.set(group.name, group);
    } else if (group.topic !== command.topic) {
      return refusal("REFUSED", `group ${group.name} reads topic ${group.topic}, not ${command.topic}`);
    }
    if (!group.join(command.member, time))
      return refusal("REFUSED", `group ${group.name} has its maximum of members, all of them holding messages`);
    this.fill(group, time);
    return { type: "group-join", group: group.name, member: command.member, created };
  }

  private fill(group: Group, time: number): void {
    group.fill(this.topicOf, time);
    this.earliest = Math.min(this.earliest, group.nextDeadline());
  }
}

/** How many settles the `[first, count, attempt]` triples name. */
export function rangesTotal(ranges: readonly number[]): number {
  let total = 0;
  for (let r = 1; r < ranges.length; r += 3) total += ranges[r] as number;
  return total;
}
