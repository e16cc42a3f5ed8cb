import type { RaftNode, Role } from "../../src/raft/index.ts";

/**
 * What the simulators' checkers read of a Raft node (role, term, commit, applied, the term at an index, where the
 * log starts, the voters in force), built by hand: checker unit tests feed a checker one defect at a time through it.
 */
export function nodeView(
  id: number,
  view: {
    role?: Role;
    term: number;
    commit?: number;
    applied?: number;
    terms?: number[];
    firstIndex?: number;
    /** The voters in force; the node alone when absent. */
    voters?: number[];
  },
): RaftNode {
  const terms = view.terms ?? [];
  const firstIndex = view.firstIndex ?? 1;
  return {
    id,
    role: view.role ?? "follower",
    term: view.term,
    commitIndex: view.commit ?? 0,
    appliedIndex: view.applied ?? 0,
    termAt: (index: number) => (index === 0 ? 0 : terms[index - 1]),
    lastIndex: () => firstIndex - 1 + terms.slice(firstIndex - 1).length,
    status: () => ({ firstIndex }),
    membership: { voters: view.voters ?? [id], learners: [], addresses: {} },
    membershipIndex: 0,
  } as unknown as RaftNode;
}
