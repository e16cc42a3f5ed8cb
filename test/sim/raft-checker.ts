/**
 * Raft's safety properties, one checker for both levels of the simulation: the core with the simulator's own Ready
 * loop (test/sim/sim-node.ts) and production's broker assembly (test/sim/driver). Checked as the run goes, after
 * every event:
 * - election safety: one leader per term; leader completeness: a leader holds every committed entry of earlier terms;
 * - state machine safety: an index commits at one term only, every node applies one history, nodes agree on the state
 *   at each index; applied rises one entry at a time; commit never falls (within a run of a node, and not below what
 *   it persisted);
 * - durability: an index commits only once it is on the disk of a majority of voters (of a configuration of the one
 *   history of applied entries, not the leader's own view); a running node never drops a committed entry it holds
 *   (a snapshot over a longer log would); a node restarted after a power
 *   loss still holds the last entry it acknowledged and the vote it sent; a restarted node takes the configuration it
 *   had in force before its crash into force again;
 * - what the disk holds: terms and votes never go back within a term, and one (index, term) names one entry.
 * The broker level adds its own checks on top (test/sim/driver/broker-checker.ts).
 */
import {
  applyConfChange,
  decodeConfChange,
  EMPTY_MEMBERSHIP,
  type Entry,
  EntryKind,
  type HardState,
  type Membership,
  type RaftNode,
} from "../../src/raft/index.ts";
import { fail, hashEntry } from "./invariants.ts";

/** What a node's disk holds, as the simulation knows it: entries up to `lastIndex` survive a power loss. */
export interface DurableLog {
  lastIndex: number;
  /** The term of an entry up to `lastIndex` (undefined below the snapshot). */
  term(index: number): number | undefined;
  /** Entries up to here are in the node's saved snapshot. */
  snapshotIndex: number;
  /**
   * A repair after corruption cut the log: it held entries up to here. They count as held, since damaged disks are a
   * fault the simulator injects at one node at a time, not something the protocol can prevent.
   */
  damagedUntil: number;
}

/** What a node found on its disk when it started. */
export interface BootedLog {
  term(index: number): number | undefined;
  snapshotIndex: number;
  damagedUntil: number;
  /** The commit index it booted with (its replay of the configuration ends there). */
  bootCommit: number;
}

interface NodeMarks {
  incarnation: number;
  commit: number;
  applied: number;
  /** Hard state last persisted (where the level reports it). */
  persistedCommit: number;
  persistedTerm: number;
  persistedVote: number;
  /** The last entry this node acknowledged to a leader: it was durable before the acknowledgement left. */
  ackIndex: number;
  ackTerm: number;
  /** The index of the configuration the core had in force when it crashed, to be in force again after its replay. */
  configAtCrash: number;
  bootCommit: number;
  /** The highest term in which this node granted a vote, and to whom. */
  votedTerm: number;
  votedFor: number;
  /** The highest committed entry this run of the node held: its log never ends below it again (a restart may). */
  heldCommitted: number;
}

export interface RaftCheckerOptions {
  /** The state machine keeps its applied index across restarts (the core level's does; a broker replays its log). */
  appliedSurvivesRestart?: boolean;
}

export class RaftChecker {
  private readonly leaders = new Map<number, number>();
  private readonly leading = new Set<RaftNode>();
  private readonly committedTerm: number[] = [];
  private maxCommit = 0;
  private readonly votes = new Map<number, number>();
  private readonly marks = new Map<number, NodeMarks>();
  /** The one history: term and data hash of the entry applied at each index. */
  private readonly history: { term: number; hash: number }[] = [];
  /**
   * Every configuration of the one history, from its entry's index on, oldest first: the voters a commit is counted
   * against come from here, not from the node under test (whose own view may be what is wrong).
   */
  private readonly configs: { index: number; membership: Membership }[] = [{ index: 0, membership: EMPTY_MEMBERSHIP }];
  /** A digest of the state machine at an index. */
  private readonly states = new Map<number, number>();
  /** (index, term) -> term of the previous entry and hash of the entry's data, as first persisted. */
  private readonly entries = new Map<number, { prevTerm: number | undefined; data: number }>();
  /** Each node's disk, as last reported (kept while it is down: the disk outlives the process). */
  private readonly disks = new Map<number, DurableLog>();

  constructor(private readonly options: RaftCheckerOptions = {}) {}

  private mark(id: number): NodeMarks {
    let m = this.marks.get(id);
    if (m === undefined) {
      m = {
        incarnation: -1,
        commit: 0,
        applied: 0,
        persistedCommit: 0,
        persistedTerm: 0,
        persistedVote: 0,
        ackIndex: 0,
        ackTerm: 0,
        configAtCrash: 0,
        bootCommit: 0,
        votedTerm: 0,
        votedFor: 0,
        heldCommitted: 0,
      };
      this.marks.set(id, m);
    }
    return m;
  }

  /** What node `id`'s disk holds now; report it before `observe` so that a commit is checked against it. */
  durable(id: number, log: DurableLog): void {
    this.disks.set(id, log);
  }

  /** After every event, for every running node; `incarnation` changes when the node restarts. */
  observe(id: number, incarnation: number, raft: RaftNode): void {
    const m = this.mark(id);
    if (m.incarnation !== incarnation) {
      m.incarnation = incarnation;
      if (raft.commitIndex < m.persistedCommit)
        fail(
          "commit monotonic",
          `node ${id} restarted with commit ${raft.commitIndex} below persisted ${m.persistedCommit}`,
        );
      m.commit = raft.commitIndex;
      m.heldCommitted = 0;
      if (!this.options.appliedSurvivesRestart) m.applied = raft.appliedIndex;
    }
    // The node's own log moved away from what it acknowledged (a newer leader overwrote it, a snapshot replaced it):
    // that acknowledgement was for entries never committed, or they are in the snapshot.
    if (m.ackIndex > 0 && raft.termAt(m.ackIndex) !== m.ackTerm) m.ackIndex = 0;
    if (m.configAtCrash > 0 && raft.appliedIndex >= m.bootCommit) {
      // The replay of what was committed before the crash is done: the configuration must be the one in force then.
      if (raft.membershipIndex < m.configAtCrash)
        fail(
          "configuration kept",
          `node ${id} had the configuration of index ${m.configAtCrash} in force before its crash, after its restart that of index ${raft.membershipIndex} (boot commit ${m.bootCommit})`,
        );
      m.configAtCrash = 0;
    }
    if (raft.role === "leader") {
      const holder = this.leaders.get(raft.term);
      if (holder === undefined) {
        this.leaders.set(raft.term, id);
        this.leading.add(raft);
        this.checkLeaderHasCommitted(id, raft);
      } else if (holder !== id) {
        fail("election safety", `nodes ${holder} and ${id} are both leaders of term ${raft.term}`);
      }
    } else {
      this.leading.delete(raft);
    }
    const commit = raft.commitIndex;
    if (commit < m.commit) fail("commit monotonic", `node ${id} commit went from ${m.commit} to ${commit}`);
    for (let i = m.commit + 1; i <= commit; i++) {
      const t = raft.termAt(i);
      if (t === undefined) continue;
      const known = this.committedTerm[i];
      if (known === undefined) this.committedTerm[i] = t;
      else if (known !== t)
        fail("state machine safety", `node ${id} committed index ${i} at term ${t}, another node at term ${known}`);
    }
    // A commit index some node already had was checked when it was first reached; a leader may learn it (a voter's
    // answer carries its commit index) rather than count it, with a configuration that came in force since.
    if (commit > m.commit && commit > this.maxCommit && raft.role === "leader")
      this.checkDurableMajority(id, raft, commit, m.applied);
    m.commit = commit;
    if (commit > this.maxCommit) {
      this.maxCommit = commit;
      for (const leader of this.leading) this.checkLeaderHasCommitted(leader.id, leader);
    }
    this.checkCommittedKept(id, raft, m);
    const applied = raft.appliedIndex;
    if (applied < m.applied) fail("applied monotonic", `node ${id} applied went from ${m.applied} to ${applied}`);
    m.applied = applied;
  }

  /**
   * A leader's commit: the entry is on the disk of a majority of the voters of a configuration the leader had in force
   * since its last observation (it counts with the configuration it applied, which may change within one event), as
   * the one history of applied entries defines them.
   */
  private checkDurableMajority(id: number, raft: RaftNode, index: number, appliedBefore: number): void {
    const term = raft.termAt(index);
    if (term === undefined) return;
    const holders = (voters: readonly number[]) => voters.filter((v) => holdsDurably(this.disks.get(v), index, term));
    const candidates = this.configsWithin(appliedBefore, raft.appliedIndex);
    if (candidates.some((m) => holders(m.voters).length * 2 > m.voters.length)) return;
    const voters = (candidates.at(-1) ?? EMPTY_MEMBERSHIP).voters;
    const held = holders(voters);
    fail(
      "durable majority",
      `leader ${id} of term ${raft.term} committed index ${index} (t${term}), on the disk of ${held.length ? `nodes ${held.join(", ")}` : "no node"} only of voters ${voters.join(", ")}`,
    );
  }

  /** The configurations in force at some applied index in [from, to] of the one history. */
  private configsWithin(from: number, to: number): Membership[] {
    let first = 0;
    while (first + 1 < this.configs.length && (this.configs[first + 1] as { index: number }).index <= from) first++;
    const out: Membership[] = [];
    for (let k = first; k < this.configs.length; k++) {
      const c = this.configs[k] as { index: number; membership: Membership };
      if (c.index > to) break;
      out.push(c.membership);
    }
    return out;
  }

  /**
   * A running node never drops an entry committed in the cluster that it holds: an append truncates only after a
   * conflict (never within the committed prefix), and a snapshot replaces the log only when the log lacks its last
   * entry. A snapshot that replaced a longer log which held it would lose acknowledged entries.
   */
  private checkCommittedKept(id: number, raft: RaftNode, m: NodeMarks): void {
    const last = raft.lastIndex();
    if (last < m.heldCommitted)
      fail(
        "committed entry kept",
        `node ${id} held committed index ${m.heldCommitted} (t${this.committedTerm[m.heldCommitted]}), its log now ends at ${last}`,
      );
    const reach = Math.min(last, this.maxCommit);
    if (reach > m.heldCommitted && raft.termAt(reach) === this.committedTerm[reach]) m.heldCommitted = reach;
  }

  /** A crashed node's core is gone. */
  crashed(id: number, raft: RaftNode | undefined): void {
    if (raft === undefined) return;
    this.leading.delete(raft);
    this.mark(id).configAtCrash = raft.membershipIndex;
  }

  /** Node `id` acknowledged its log up to `index` (term `term` there) to a leader: durable before it left. */
  logAcknowledged(id: number, index: number, term: number): void {
    const m = this.mark(id);
    m.ackIndex = index;
    m.ackTerm = term;
  }

  /**
   * A node opened its disk: it holds the last entry it acknowledged, or it is marked damaged up to at least that
   * index (so it withholds its votes until it holds it again).
   */
  booted(id: number, log: BootedLog): void {
    const m = this.mark(id);
    m.bootCommit = log.bootCommit;
    // A repaired node lost part of its log, its configuration entries maybe: it neither votes nor campaigns until it
    // holds them again (the acknowledgement check below covers it).
    if (log.damagedUntil > 0) {
      m.configAtCrash = 0;
      // Its saved commit index may lie beyond the repaired log: commit is volatile, and the leader tells it again.
      m.persistedCommit = Math.min(m.persistedCommit, log.bootCommit);
    }
    if (m.ackIndex === 0 || m.ackIndex <= log.snapshotIndex || log.term(m.ackIndex) === m.ackTerm) return;
    if (log.damagedUntil >= m.ackIndex) return;
    fail(
      "acknowledged entry kept",
      `node ${id} acknowledged (${m.ackIndex}, t${m.ackTerm}) and restarted with t${log.term(m.ackIndex)} there, damaged until ${log.damagedUntil || "never"}`,
    );
  }

  private checkLeaderHasCommitted(id: number, raft: RaftNode): void {
    const index = this.maxCommit;
    const term = this.committedTerm[index];
    if (term === undefined || raft.term < term) return;
    const held = raft.termAt(index);
    if (held === term || (held === undefined && index < raft.status().firstIndex)) return;
    fail(
      "leader completeness",
      `leader ${id} of term ${raft.term} holds term ${held} at committed index ${index} (term ${term})`,
    );
  }

  /** A vote granted on the wire (sent only once persisted). */
  voted(id: number, term: number, candidate: number): void {
    const key = id * 1048576 + term;
    const before = this.votes.get(key);
    if (before === undefined) this.votes.set(key, candidate);
    else if (before !== candidate)
      fail("one vote per term", `node ${id} voted for ${before} and ${candidate} in term ${term}`);
    const m = this.mark(id);
    if (term > m.votedTerm) {
      m.votedTerm = term;
      m.votedFor = candidate;
    }
  }

  /** A node reopened its disk: a vote it sent must have been durable before it was sent. */
  recovered(id: number, hs: HardState): void {
    const m = this.mark(id);
    if (hs.term < m.votedTerm || (hs.term === m.votedTerm && hs.vote !== m.votedFor)) {
      fail(
        "vote durability",
        `node ${id} voted for ${m.votedFor} in term ${m.votedTerm} but recovered term ${hs.term} vote ${hs.vote}`,
      );
    }
  }

  /** Node `id` wrote a hard state and entries to its disk (where the level sees its writes). */
  persisted(
    id: number,
    hs: HardState | undefined,
    entries: readonly Entry[],
    termOnDisk: (index: number) => number | undefined,
  ): void {
    const m = this.mark(id);
    if (hs !== undefined) {
      if (hs.term < m.persistedTerm)
        fail("term monotonic", `node ${id} persisted term ${hs.term} after ${m.persistedTerm}`);
      if (hs.term === m.persistedTerm && m.persistedVote !== 0 && hs.vote !== m.persistedVote) {
        fail(
          "one vote per term",
          `node ${id} persisted vote ${hs.vote} in term ${hs.term} after voting ${m.persistedVote}`,
        );
      }
      if (hs.commit < m.persistedCommit)
        fail("commit monotonic", `node ${id} persisted commit ${hs.commit} after ${m.persistedCommit}`);
      m.persistedTerm = hs.term;
      m.persistedVote = hs.vote;
      m.persistedCommit = hs.commit;
    }
    for (const e of entries) {
      const key = e.index * 1048576 + e.term;
      const prevTerm = termOnDisk(e.index - 1);
      const data = hashEntry(0, e);
      const seen = this.entries.get(key);
      if (seen === undefined) {
        this.entries.set(key, { prevTerm, data });
        continue;
      }
      if (seen.data !== data)
        fail("log matching", `node ${id} holds a different entry at index ${e.index} term ${e.term}`);
      if (seen.prevTerm !== undefined && prevTerm !== undefined && seen.prevTerm !== prevTerm) {
        fail(
          "log matching",
          `node ${id} holds (${e.index}, ${e.term}) after term ${prevTerm}, another node after ${seen.prevTerm}`,
        );
      }
    }
  }

  /** Entries a node is about to apply, after `applied`. */
  applying(id: number, applied: number, entries: readonly Entry[]): void {
    let last = applied;
    for (const e of entries) {
      if (e.index !== last + 1) fail("apply order", `node ${id} applies index ${e.index} after ${last}`);
      last = e.index;
      const hash = hashEntry(0, e);
      const known = this.history[e.index];
      if (known === undefined) {
        this.history[e.index] = { term: e.term, hash };
        if (e.kind === EntryKind.Config) this.configApplied(e);
      } else if (known.term !== e.term || known.hash !== hash) {
        fail(
          "state machine safety",
          `node ${id} applies (${e.index}, t${e.term}), another node applied (${e.index}, t${known.term}) with other data`,
        );
      }
    }
  }

  /** The history's first sight of a configuration entry: every index before it was applied somewhere first. */
  private configApplied(e: Entry): void {
    const last = this.configs.at(-1) as { index: number; membership: Membership };
    if (e.index <= last.index) fail("apply order", `configuration entry ${e.index} first applied after ${last.index}`);
    const membership = applyConfChange(last.membership, decodeConfChange(e.data));
    if (membership !== last.membership) this.configs.push({ index: e.index, membership });
  }

  /** Node `id`'s state machine reached (`index`, `term`) with state `digest` (applying an entry or a snapshot). */
  stateAt(id: number, index: number, term: number, digest: number): void {
    const known = this.history[index];
    if (known !== undefined && known.term !== term)
      fail("snapshot", `node ${id} has a state at (${index}, t${term}), the history has t${known.term}`);
    const before = this.states.get(index);
    if (before === undefined) this.states.set(index, digest);
    else if (before !== digest)
      fail("state machine safety", `node ${id}'s state at index ${index} differs from another node's`);
  }
}

function holdsDurably(disk: DurableLog | undefined, index: number, term: number): boolean {
  if (disk === undefined) return false;
  if (index <= disk.damagedUntil) return true;
  if (disk.lastIndex < index) return false;
  return index <= disk.snapshotIndex || disk.term(index) === term;
}
