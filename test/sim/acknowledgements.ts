/**
 * A check shared by the core-level and the broker-level simulations: an acknowledgement vouches that
 * the sender's log matches the leader's up to its index (the leader counts it toward commit), so at
 * that index both must hold the same term. A follower that acknowledged entries it never compared
 * with the leader's (the snapshot fast-forward once did) is caught here, before any fork it allows.
 */
import type { Message, RaftNode } from "../../src/raft/index.ts";
import { Violation } from "./invariants.ts";

/**
 * Checks an acknowledgement as it leaves `sender` for the node `recipient`. Returns the sender's term at the index
 * when the acknowledgement stands for its log (undefined when the sender moved on to a newer term since it was made,
 * or no longer holds the entry).
 */
export function checkAcknowledgement(
  m: Message,
  sender: RaftNode | undefined,
  recipient: RaftNode | undefined,
): number | undefined {
  if (m.type !== "appendResponse" || m.reject) return undefined;
  // A sender in a newer term may have been overwritten by its new leader since the acknowledgement was made.
  if (sender === undefined || sender.term !== m.term) return undefined;
  const own = sender.termAt(m.index);
  const leads = recipient !== undefined && recipient.role === "leader" && recipient.term === m.term;
  const leaderTerm = leads ? recipient.termAt(m.index) : undefined;
  if (own !== undefined && leaderTerm !== undefined && own !== leaderTerm)
    throw new Violation(
      "acknowledgement agreement",
      `node ${m.from} acknowledges index ${m.index} holding term ${own}, leader ${m.to} holds term ${leaderTerm} there`,
    );
  return own;
}
