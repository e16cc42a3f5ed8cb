/** Pure functions over Membership values; a Membership is never mutated once built. */
import type { ConfChange } from "./conf-change.ts";
import type { Membership, NodeId } from "./log-types.ts";

export const EMPTY_MEMBERSHIP: Membership = Object.freeze({ voters: [], learners: [], addresses: {} });

export function isVoter(m: Membership, id: NodeId): boolean {
  return m.voters.includes(id);
}

export function isMember(m: Membership, id: NodeId): boolean {
  return m.voters.includes(id) || m.learners.includes(id);
}

/** Why `cc` cannot apply to `m`, or undefined when it can. */
export function confChangeProblem(m: Membership, cc: ConfChange): string | undefined {
  switch (cc.op) {
    case "addLearner":
      return isMember(m, cc.id) ? `node ${cc.id} is already a member` : undefined;
    case "promote":
      return m.learners.includes(cc.id) ? undefined : `node ${cc.id} is not a learner`;
    case "remove":
      if (!isMember(m, cc.id)) return `node ${cc.id} is not a member`;
      return m.voters.length === 1 && isVoter(m, cc.id) ? `node ${cc.id} is the last voter` : undefined;
  }
}

/** The membership after `cc`; `m` itself when `cc` does not apply (every node skips it alike). */
export function applyConfChange(m: Membership, cc: ConfChange): Membership {
  if (confChangeProblem(m, cc) !== undefined) return m;
  const without = (ids: NodeId[]) => ids.filter((id) => id !== cc.id);
  const sorted = (ids: NodeId[]) => [...ids, cc.id].sort((a, b) => a - b);
  switch (cc.op) {
    case "addLearner":
      return { voters: m.voters, learners: sorted(m.learners), addresses: { ...m.addresses, [cc.id]: cc.address } };
    case "promote":
      return { voters: sorted(m.voters), learners: without(m.learners), addresses: m.addresses };
    case "remove": {
      const addresses = { ...m.addresses };
      delete addresses[cc.id];
      return { voters: without(m.voters), learners: without(m.learners), addresses };
    }
  }
}
