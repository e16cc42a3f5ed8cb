import type { Group } from "../broker/groups/group.ts";
import type { DeadLetter } from "../broker/groups/group-records.ts";
import type { BrokerState } from "../broker/state-machine.ts";
import { MqraftError } from "../util/errors.ts";
import type { GroupSummary } from "../wire/index.ts";

function deadLetterSummary(d: DeadLetter): GroupSummary["deadLetters"][number] {
  return {
    offset: d.offset,
    deliveries: d.attempts,
    reason: d.reason,
    ...(d.storedAt === undefined ? {} : { deadLetterOffset: d.storedAt }),
    ...(d.topic === undefined ? {} : { topic: d.topic }),
  };
}

export function groupSummary(g: Group): GroupSummary {
  return {
    name: g.name,
    topic: g.topic,
    ackWaitMs: g.settings.ackWaitMs,
    maxDeliver: g.settings.maxDeliver,
    maxPending: g.settings.maxPending,
    deadLetter: g.settings.deadLetter,
    ...(g.settings.run === undefined ? {} : { run: g.settings.run }),
    start: g.start,
    // on a pattern: how many messages it has handed out (its next key)
    next: g.feed === undefined ? g.cursor : g.feed.nextKey,
    outstanding: g.outstanding.size,
    redeliveries: g.pending.size,
    acked: g.acked,
    redelivered: g.redelivered,
    deadLettered: g.deadLettered,
    dropped: g.dropped,
    members: g.order.map((m) => ({ name: m.id, live: m.active, holding: m.holding })),
    deadLetters: [...g.recentDead, ...g.dead].map(deadLetterSummary),
  };
}

/** Every group (creation order), or the one named (NOT_FOUND when there is none). */
export function listGroups(state: BrokerState, name: string | undefined): GroupSummary[] {
  if (name === undefined) return Array.from(state.groups.all(), groupSummary);
  const group = state.groups.get(name);
  if (group === undefined) throw new MqraftError("NOT_FOUND", `no group ${name}`);
  return [groupSummary(group)];
}
