import type { RaftNode } from "../raft/index.ts";
import type { Logger } from "../util/log.ts";

/**
 * Logs what a person follows in the demo's words: elections, new leaders, members the leader
 * lost or found again. It compares the core's state with what it saw last time it was called.
 */
export class RoleWatcher {
  private role = "";
  private term = -1;
  private leader = -1;
  private unreachable = new Set<number>();
  /** New leaders seen (read by /metrics). */
  leaderChanges = 0;

  constructor(
    private readonly raft: RaftNode,
    private readonly log: Logger,
    private readonly addressOf: (id: number) => string,
  ) {}

  check(): void {
    const { role, term, leader } = this.raft;
    if (role !== this.role || term !== this.term) {
      if (role === "candidate") this.log.info(`Timeout, sending REQUEST_TO_VOTE, term: ${term}`);
      if (role === "preCandidate" && this.role !== "preCandidate")
        this.log.debug(`Timeout, asking peers for a pre-vote, term: ${term + 1}`);
    }
    if (leader !== this.leader && leader !== 0) {
      this.leaderChanges++;
      this.log.info(`New leader ${this.addressOf(leader)}, term: ${term}`);
    }
    this.role = role;
    this.term = term;
    this.leader = leader;
    if (role === "leader") this.checkReachability();
    else this.unreachable.clear();
  }

  private checkReachability(): void {
    const status = this.raft.status();
    for (const peer of status.peers) {
      const lost = !peer.reachable;
      if (lost && !this.unreachable.has(peer.id)) {
        this.unreachable.add(peer.id);
        this.log.info(`Node leave the cluster: ${this.addressOf(peer.id)} (unreachable; still a member)`);
      } else if (!lost && this.unreachable.delete(peer.id)) {
        this.log.info(`Node is back: ${this.addressOf(peer.id)}`);
      }
    }
  }
}
