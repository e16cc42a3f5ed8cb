import type { NodeId, RaftStatus } from "../raft/index.ts";
import type { Logger } from "../util/log.ts";

/** After every voter declined, the leader waits this many election timeouts before it asks them again. */
const ROUND_PAUSE_ELECTIONS = 30;

/**
 * A leader whose disk alarm is raised hands leadership to a voter that has room (docs/disk-full.md, "A full
 * leader hands over"), so that one full disk does not stop publishing for a cluster whose majority has space.
 *
 * The leader does not know the others' disks: it asks the most caught-up voter it has not asked yet to take over (a
 * Raft leadership transfer), and a voter under the alarm itself declines by ignoring the request (BrokerAssembly
 * drops a timeoutNow while its alarm is raised). A declined transfer ends after an election timeout, and the next
 * voter is asked; once all declined, the leader keeps leading (under the alarm) and asks again after a pause. Pure:
 * driven by the assembly's ticks, so the simulator runs it as it is.
 */
export class DiskHandoff {
  /** Voters asked in this round. */
  private readonly asked = new Set<NodeId>();
  private pauseTicks = 0;
  /** Rounds of asking in this alarm: only the first is logged at info, so an all-full cluster does not flood its logs. */
  private rounds = 0;

  constructor(
    private readonly electionTicks: number,
    private readonly log: Logger,
    private readonly addressOf: (id: NodeId) => string,
  ) {}

  /** At every tick: the voter to hand leadership to now, if any. */
  next(alarmRaised: boolean, raftStatus: () => RaftStatus): NodeId | undefined {
    const status = alarmRaised ? raftStatus() : undefined;
    if (status?.role !== "leader") {
      this.asked.clear();
      this.pauseTicks = 0;
      this.rounds = 0;
      return undefined;
    }
    if (status.leadTransferee !== 0) return undefined;
    if (this.pauseTicks > 0) {
      this.pauseTicks--;
      return undefined;
    }
    const voters = new Set(status.membership.voters);
    const candidates = status.peers
      .filter((p) => voters.has(p.id) && p.reachable && !this.asked.has(p.id))
      .sort((a, b) => b.match - a.match || a.id - b.id);
    const to = candidates[0];
    if (to === undefined) {
      if (this.asked.size > 0 && this.rounds === 0)
        this.log.warn(
          `Disk alarm: no other voter took over leadership (their disks may be full too); this broker keeps leading and refusing publishes, and asks again in ${ROUND_PAUSE_ELECTIONS} election timeouts`,
        );
      if (this.asked.size > 0) this.rounds++;
      this.asked.clear();
      this.pauseTicks = ROUND_PAUSE_ELECTIONS * this.electionTicks;
      return undefined;
    }
    this.asked.add(to.id);
    (this.rounds === 0 ? this.log.info : this.log.debug).call(
      this.log,
      `Disk alarm: handing leadership to broker ${to.id} (${this.addressOf(to.id)}), which may have room for publishes`,
    );
    return to.id;
  }
}
