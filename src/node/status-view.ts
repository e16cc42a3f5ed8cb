import type { RaftStatus } from "../raft/index.ts";
import type { NodeStatus, StatusReply } from "../wire/index.ts";

/**
 * The cluster as this broker sees it. Its own row is exact; other rows come from the leader's
 * cluster map (reachability) and, on the leader, from replication progress (how far each has
 * matched the leader's log, reported as its commit and applied positions).
 */
export function statusView(s: RaftStatus, id: number): Omit<StatusReply, "id"> {
  const { membership } = s;
  const ids = [...membership.voters, ...membership.learners].sort((a, b) => a - b);
  if (!ids.includes(id)) ids.push(id);
  const reachable = new Set(s.cluster?.reachable ?? []);
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
      };
    }
    const match = progress.get(n)?.match;
    return {
      id: n,
      address,
      role: n === s.leader ? "leader" : s.leader === 0 ? "unknown" : voter ? "follower" : "learner",
      voter,
      reachable: s.role === "leader" ? (progress.get(n)?.reachable ?? false) : reachable.has(n),
      // A member that answers the leader's heartbeats has taken the leader's term.
      term: n === s.leader || (s.role === "leader" && progress.get(n)?.reachable) ? s.term : 0,
      commitIndex: n === s.leader ? s.commit : (match ?? 0),
      lastApplied: match ?? 0,
    };
  });
  return { type: "status", leader: s.leader, term: s.term, nodes };
}
