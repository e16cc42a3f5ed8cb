/**
 * What the driver simulation checks of a consumer group, from what its members saw: a message whose ack resolved is
 * acknowledged once and never delivered to anyone again; at the end, the group's replicated state accounts for every
 * message of its topic (acknowledged, dead-lettered once on the dead-letter topic, or removed by retention), with
 * nothing left held or waiting.
 */
import type { Group } from "../../../src/broker/groups/group.ts";
import { fail } from "./broker-checker.ts";

export class GroupChecker {
  /** offset -> member whose ack of it resolved. */
  readonly acked = new Map<number, string>();
  received = 0;
  redelivered = 0;

  /** A member was handed `offset` (delivery `attempt`) and passes it to its user. */
  delivered(member: string, offset: number, attempt: number): void {
    this.received++;
    if (attempt > 1) this.redelivered++;
    const by = this.acked.get(offset);
    if (by !== undefined)
      fail(
        "group: acknowledged once",
        `${member} was handed offset ${offset} (delivery ${attempt}) after ${by}'s ack of it resolved`,
      );
  }

  /** A member's ack of `offset` resolved. */
  ackResolved(member: string, offset: number): void {
    const by = this.acked.get(offset);
    if (by !== undefined)
      fail("group: acknowledged once", `offset ${offset}: ${member}'s ack resolved after ${by}'s did`);
    this.acked.set(offset, member);
  }

  /**
   * Nothing lost: every message of the topic up to `nextOffset` is acknowledged, dead-lettered or dropped by
   * retention, each once; each dead letter is on the dead-letter topic once (`deadLetterTopicCount`, unless retention
   * may have removed some).
   */
  finished(group: Group, nextOffset: number, deadLetterTopicCount: number | undefined): void {
    const where = `group ${group.name}: acked ${group.acked}, dead ${group.deadLettered}, dropped ${group.dropped}, next ${group.cursor} of ${nextOffset}, outstanding ${group.outstanding.size}, waiting ${group.pending.size}, dead letters waiting ${group.dead.length}`;
    if (group.cursor !== nextOffset || group.outstanding.size > 0 || group.pending.size > 0 || group.dead.length > 0)
      fail("group: none lost", `unfinished: ${where}`);
    if (group.acked + group.deadLettered + group.dropped !== nextOffset - group.start)
      fail(
        "group: none lost",
        `the counts do not add up to the ${nextOffset - group.start} messages from offset ${group.start}: ${where}`,
      );
    if (this.acked.size > group.acked)
      fail("group: acknowledged once", `${this.acked.size} acks resolved, the group counts ${group.acked}: ${where}`);
    if (deadLetterTopicCount !== undefined && deadLetterTopicCount !== group.deadLettered)
      fail("group: dead letters", `${deadLetterTopicCount} messages on the dead-letter topic: ${where}`);
  }
}
