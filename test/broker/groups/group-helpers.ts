import type { Command } from "../../../src/broker/commands.ts";
import type { GroupResult, GroupSettings } from "../../../src/broker/groups/group-commands.ts";
import type { BrokerState } from "../../../src/broker/state-machine.ts";
import { applyNext, msg, publish, T0 } from "../helpers.ts";

/** What the group state tests share: group "workers" on topic "jobs". */

export const SETTINGS: GroupSettings = {
  ackWaitMs: 30_000,
  maxDeliver: 5,
  deadLetter: "jobs.dlq",
  maxPending: 100,
  from: "earliest",
};

/** Applies a group command as the next entry; its result, which must be a group's. */
export function apply(state: BrokerState, command: Command): GroupResult {
  const [r] = applyNext(state, command);
  if (r === undefined || r.type === "error" || !r.type.startsWith("group-"))
    throw new Error(`expected a group result, got ${JSON.stringify(r)}`);
  return r as GroupResult;
}

export function join(state: BrokerState, member: string, time = T0, settings: Partial<GroupSettings> = {}) {
  return apply(state, {
    type: "group-join",
    time,
    group: "workers",
    topic: "jobs",
    member,
    settings: { ...SETTINGS, ...settings },
  });
}

/** Offsets member holds, in the order handed to it. */
export function held(state: BrokerState, member: string): number[] {
  const g = state.groups.get("workers");
  return g?.heldBy(g.members.get(member)) ?? [];
}

export function publishN(state: BrokerState, n: number, time = T0): void {
  publish(state, time, ...Array.from({ length: n }, (_, i) => msg("jobs", `job ${i}`)));
}
