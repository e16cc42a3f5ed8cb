import type { RaftStatus } from "../raft/index.ts";
import type { NodeStatus, StatusReply } from "../wire/index.ts";
import type { NodeFacts } from "./node-facts.ts";

/**
 * The cluster as this broker sees it. Its own row is exact; in other rows only what this broker knows is given and
 * the rest is null: no guess of a term, a commit index or a role it has not heard. The leader knows each member's
 * match index and whether it heard from it within an election timeout; a follower knows reachability from the
 * leader's cluster map.
 */
export function statusView(s: RaftStatus, id: number, facts?: NodeFacts): Omit<StatusReply, "id"> {
  const { membership } = s;
  const ids = [...membership.voters, ...membership.learners].sort((a, b) => a - b);
  if (!ids.includes(id)) ids.push(id);
  const reachable = s.cluster === undefined ? undefined : new Set(s.cluster.reachable);
  const progress = new Map(s.peers.map((p) => [p.id, p]));
  const nodes: NodeStatus[] = ids.map((n) => {
    const voter = membership.voters.includes(n);
    const address = membership.addresses[String(n)] ?? "";
    if (n === id) {
      const role =
        s.role === "leader"
          ? "leader"
          : s.role === "candidate" || s.role === "preCandidate"
            ? "candidate"
            : voter
              ? "follower"
              : "learner";
      return {
        id: n,
        address,
        role,
        voter,
        reachable: true,
        term: s.term,
        commitIndex: s.commit,
        lastApplied: s.applied,
        lastIndex: s.lastIndex,
        lastTerm: s.lastTerm,
        ...(facts === undefined ? {} : facts),
      };
    }
    const peer = progress.get(n);
    return {
      id: n,
      address,
      role: n === s.leader ? "leader" : "unknown",
      voter,
      reachable: s.role === "leader" ? (peer?.reachable ?? false) : (reachable?.has(n) ?? null),
      term: n === s.leader ? s.term : null,
      commitIndex: null,
      lastApplied: null,
      matchIndex: peer?.match ?? null,
    };
  });
  return { type: "status", leader: s.leader, term: s.term, nodes };
}
