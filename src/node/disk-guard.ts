/**
 * What a full disk changes in one broker assembly (docs/disk-full.md): the disk alarm read at every tick, the leader's
 * refusals under it, the hand-off of leadership to a voter that may have room, declining such a hand-off, and, once a
 * write failed with ENOSPC, not taking entries from the leader until space returns.
 */
import type { Message, NodeId } from "../raft/index.ts";
import { errnoCode } from "../storage/fs.ts";
import { describeError, MqraftError } from "../util/errors.ts";
import type { Logger } from "../util/log.ts";
import { DiskAlarm } from "./disk-alarm.ts";
import { DiskHandoff } from "./disk-handoff.ts";
import type { FreeSpaceProbe } from "./free-space.ts";
import type { RaftDriver } from "./raft-driver.ts";
import type { ReplicatedBroker } from "./replicated-broker.ts";

export interface DiskGuardOptions {
  id: NodeId;
  dataDir: string;
  log: Logger;
  electionTicks: number;
  freeSpace: FreeSpaceProbe;
  /** --min-free-space in bytes; undefined: 1 GiB or 5 % of the file system, whichever is smaller. */
  minFreeBytes: number | undefined;
  /** The alarm of an earlier assembly of this broker (reopened after ENOSPC): it goes on as it was. */
  alarm: DiskAlarm | undefined;
  driver: () => RaftDriver;
  addressOf: (id: NodeId) => string;
}

export class DiskGuard {
  readonly alarm: DiskAlarm;
  /** Under the alarm, as leader: hands leadership to a voter that may have room. */
  private readonly handoff: DiskHandoff;
  /** The term of the last leadership transfer declined (logged once per leader term). */
  private declinedInTerm = -1;

  constructor(private readonly options: DiskGuardOptions) {
    const { id, dataDir, log, addressOf } = options;
    this.alarm =
      options.alarm ??
      new DiskAlarm(options.freeSpace, options.minFreeBytes, () => `broker ${id} (${addressOf(id)})`, dataDir, log);
    this.handoff = new DiskHandoff(options.electionTicks, log, addressOf);
  }

  /**
   * Only the leader grows the log; a follower answers NOT_LEADER as ever, and under the alarm keeps appending what the
   * leader sends while it physically can (docs/disk-full.md).
   */
  gate(broker: ReplicatedBroker): void {
    const { alarm } = this;
    const leads = (): boolean => this.options.driver().raft.role === "leader";
    broker.writeGate = () => (leads() ? alarm.refusal() : undefined);
    broker.commandGate = (type, bytes) => (leads() ? alarm.admit(type, bytes) : undefined);
  }

  /** At every tick: statfs takes microseconds, so the alarm rises before a fast publisher eats the reserve. */
  tick(): void {
    this.alarm.check();
    this.handOverIfFull();
  }

  /** Whether a message from a peer goes to the core; false: it is dropped, as a lost message is. */
  admits(m: Message): boolean {
    // Declining a leadership transfer under the alarm: taking over would only move the refusals here (disk-handoff.ts).
    if (m.type === "timeoutNow" && this.alarm.raised) {
      if (m.term !== this.declinedInTerm)
        this.options.log.info(`Declining leadership from node ${m.from}: this broker's disk alarm is raised`);
      this.declinedInTerm = m.term;
      return false;
    }
    // After ENOSPC, what would write to the log waits for space: the leader sends it again (votes and heartbeats,
    // which write at most the small hard state, go on).
    if (this.alarm.full && ((m.type === "append" && m.entries.length > 0) || m.type === "snapshot")) return false;
    return true;
  }

  private handOverIfFull(): void {
    const driver = this.options.driver();
    const to = this.handoff.next(this.alarm.raised, () => driver.raft.status());
    if (to === undefined) return;
    try {
      driver.withCore((raft) => raft.transferLeadership(to));
    } catch (e) {
      this.options.log.warn(`Disk alarm: could not hand leadership to node ${to}: ${describeError(e)}`);
    }
  }
}

/**
 * Why the store could not persist, for the operator: a full disk is DISK_FULL with what to do (the failed write was
 * never acknowledged, and recovery drops its torn bytes), anything else INTERNAL.
 */
export function persistenceFailure(e: unknown, dataDir: string): MqraftError {
  // the store reports a failure after the first as "failed earlier", with the first as its cause
  let cause: unknown = e;
  while (errnoCode(cause) !== "ENOSPC" && cause instanceof Error && cause.cause !== undefined) cause = cause.cause;
  if (errnoCode(cause) === "ENOSPC")
    return new MqraftError(
      "DISK_FULL",
      `the disk of ${dataDir} is full (ENOSPC): free space there (or give the broker a larger disk) and start it again; nothing acknowledged is lost, and the broker catches up from the others`,
      { cause: e },
    );
  return new MqraftError("INTERNAL", describeError(e), { cause: e });
}
