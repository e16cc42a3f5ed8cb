import type { Report, ReportMember } from "../wire/index.ts";

export interface KnownLeader {
  id: number;
  address: string;
  term: number;
}

/**
 * The cluster as the brokers' reports describe it: the members and the leader of the highest term heard. Brokers
 * report only while they lead, so a leader that stops reporting has died or been deposed; after `staleMs` without a
 * report it is forgotten, while the members stay (they are where to look for the next leader). A report of a
 * lower term is a deposed leader's and is ignored while the current one is fresh, but accepted once it is not, so
 * that a cluster recreated from scratch (terms starting over) is learned again.
 */
export class ClusterMap {
  private members: readonly ReportMember[] = [];
  private term = 0;
  private leaderId = 0;
  private reportedAt = Number.NEGATIVE_INFINITY;
  private announced: string | undefined;

  constructor(private readonly staleMs: number) {}

  /**
   * Takes one report. Returns the leader's address when it differs from the one last returned (or forgotten), so
   * that the caller announces each new leader once; undefined otherwise, also for an ignored report.
   */
  apply(report: Report, now: number): string | undefined {
    if (report.term < this.term && this.leaderAt(now) !== undefined) return undefined;
    this.term = report.term;
    this.members = report.members;
    this.leaderId = report.leader;
    if (report.leader !== 0) this.reportedAt = now;
    const address = this.leaderAt(now)?.address;
    if (address === this.announced) return undefined;
    this.announced = address;
    return address;
  }

  /** Forgets a leader that has not reported for `staleMs`; returns its address when it did so. */
  expire(now: number): string | undefined {
    if (this.leaderId === 0 || now - this.reportedAt <= this.staleMs) return undefined;
    const address = this.addressOf(this.leaderId);
    this.leaderId = 0;
    this.announced = undefined;
    return address;
  }

  /** The leader, while it keeps reporting. */
  leaderAt(now: number): KnownLeader | undefined {
    if (this.leaderId === 0 || now - this.reportedAt > this.staleMs) return undefined;
    const address = this.addressOf(this.leaderId);
    return address === undefined ? undefined : { id: this.leaderId, address, term: this.term };
  }

  get knownMembers(): readonly ReportMember[] {
    return this.members;
  }

  /** Brokers to try for a request, best first: the leader, then those the leader hears from, then the rest. */
  candidates(now: number): string[] {
    const leader = this.leaderAt(now)?.address;
    const reachable = this.members.filter((m) => m.reachable).map((m) => m.address);
    const rest = this.members.filter((m) => !m.reachable).map((m) => m.address);
    return [...new Set([...(leader === undefined ? [] : [leader]), ...reachable, ...rest])].filter((a) => a !== "");
  }

  private addressOf(id: number): string | undefined {
    const address = this.members.find((m) => m.id === id)?.address;
    return address === "" ? undefined : address;
  }
}
