/**
 * The properties a driver-level run must keep, checked as the run goes. Raft: one leader per term,
 * a committed index never changes term, a leader holds every committed entry, one vote per term
 * and a granted vote survives a crash, every node applies a prefix of one history, and nodes agree
 * on the state machine at each index. Broker: every node holds the same message at a (topic,
 * offset), an acknowledged publish stays at its offset, and a (producer, seq) is stored once.
 */
import type { Entry, HardState, RaftNode } from "../../../src/raft/index.ts";
import { hashEntry, Violation } from "../invariants.ts";

interface NodeMarks {
  incarnation: number;
  /** The last entry this node acknowledged to a leader: it was durable before the acknowledgement left. */
  ackIndex: number;
  ackTerm: number;
  /** The index of the configuration the core had in force when it crashed, to be in force again after its replay. */
  configAtCrash: number;
  /** The commit index the current incarnation booted with (its replay ends there). */
  bootCommit: number;
  commit: number;
  /** The highest term in which this node granted a vote, and to whom. */
  votedTerm: number;
  votedFor: number;
}

export interface Placement {
  topic: string;
  offset: number;
}

export class BrokerChecker {
  private readonly leaders = new Map<number, number>();
  private readonly leading = new Set<RaftNode>();
  private readonly committedTerm: number[] = [];
  private maxCommit = 0;
  private readonly votes = new Map<number, number>();
  private readonly marks = new Map<number, NodeMarks>();
  /** The one history: term and data hash of the entry applied at each index. */
  private readonly history: { term: number; hash: number }[] = [];
  /** Hash of the state machine's snapshot bytes at an index. */
  private readonly states = new Map<number, number>();
  /** topic -> offset -> the message's text (its identity "producer/seq/" and filler). */
  private readonly messages = new Map<string, Map<number, string>>();
  /** identity -> where it is stored, and where its publish was acknowledged. */
  private readonly stored = new Map<string, Placement>();
  readonly acked = new Map<string, Placement & { text: string }>();
  /** "topic/offset" -> the text acknowledged there. */
  private readonly ackedAt = new Map<string, string>();

  constructor(
    /** Retention may drop old messages; without it every topic starts at offset 0 forever. */
    readonly retention: boolean,
  ) {}

  private mark(id: number): NodeMarks {
    let m = this.marks.get(id);
    if (m === undefined) {
      m = {
        incarnation: -1,
        commit: 0,
        votedTerm: 0,
        votedFor: 0,
        ackIndex: 0,
        ackTerm: 0,
        configAtCrash: 0,
        bootCommit: 0,
      };
      this.marks.set(id, m);
    }
    return m;
  }

  /** After every event, for every running node. */
  observe(id: number, incarnation: number, raft: RaftNode): void {
    const m = this.mark(id);
    if (m.incarnation !== incarnation) {
      m.incarnation = incarnation;
      m.commit = raft.commitIndex;
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
    m.commit = commit;
    if (commit > this.maxCommit) {
      this.maxCommit = commit;
      for (const leader of this.leading) this.checkLeaderHasCommitted(leader.id, leader);
    }
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
   * A node opened its data folder: it holds the last entry it acknowledged, or it is marked damaged up to at least
   * that index (so it withholds its votes until it holds it again).
   */
  booted(
    id: number,
    log: { term(i: number): number | undefined; snapshotIndex: number; damagedUntil: number; bootCommit: number },
  ): void {
    const m = this.mark(id);
    m.bootCommit = log.bootCommit;
    // A repaired node lost part of its log, its configuration entries maybe: it neither votes nor campaigns until it
    // holds them again (the acknowledgement check below covers it).
    if (log.damagedUntil > 0) m.configAtCrash = 0;
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

  /** A vote granted on the wire. */
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

  /** A node reopened its data folder: a vote it sent must have been durable before it was sent. */
  recovered(id: number, hs: HardState): void {
    const m = this.mark(id);
    if (hs.term < m.votedTerm || (hs.term === m.votedTerm && hs.vote !== m.votedFor)) {
      fail(
        "vote durability",
        `node ${id} voted for ${m.votedFor} in term ${m.votedTerm} but recovered term ${hs.term} vote ${hs.vote}`,
      );
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
      if (known === undefined) this.history[e.index] = { term: e.term, hash };
      else if (known.term !== e.term || known.hash !== hash) {
        fail(
          "state machine safety",
          `node ${id} applies (${e.index}, t${e.term}), another node applied (${e.index}, t${known.term}) with other data`,
        );
      }
    }
  }

  /** A node's state machine at `index` (a snapshot it took or installed, or its final state). */
  stateAt(id: number, index: number, term: number, bytes: Uint8Array): void {
    const known = this.history[index];
    if (known !== undefined && known.term !== term)
      fail("snapshot", `node ${id} has a snapshot at (${index}, t${term}), the history has t${known.term}`);
    const hash = hashEntry(0, { index, term, kind: 0, data: bytes });
    const before = this.states.get(index);
    if (before === undefined) this.states.set(index, hash);
    else if (before !== hash)
      fail("state machine safety", `node ${id}'s state at index ${index} differs from another node's`);
  }

  /** Node `id` holds `text` at (topic, offset), read back from its log. */
  holds(id: number, topic: string, offset: number, text: string): void {
    let byOffset = this.messages.get(topic);
    if (byOffset === undefined) {
      byOffset = new Map();
      this.messages.set(topic, byOffset);
    }
    const known = byOffset.get(offset);
    if (known !== undefined) {
      if (known !== text)
        fail(
          "message agreement",
          `node ${id} holds ${brief(text)} at ${topic}/${offset}, another node ${brief(known)}`,
        );
      return;
    }
    byOffset.set(offset, text);
    const promised = this.ackedAt.get(`${topic}/${offset}`);
    if (promised !== undefined && promised !== text) {
      fail(
        "acknowledged publish",
        `${identityOf(promised)} was acknowledged at ${topic}/${offset}, node ${id} holds ${brief(text)} there`,
      );
    }
    const identity = identityOf(text);
    const ack = this.acked.get(identity);
    if (ack !== undefined && (ack.topic !== topic || ack.offset !== offset)) {
      fail(
        "acknowledged publish",
        `${identity} was acknowledged at ${ack.topic}/${ack.offset}, node ${id} stores it at ${topic}/${offset}`,
      );
    }
    const first = this.stored.get(identity);
    if (first !== undefined)
      fail("stored once", `${identity} is stored at ${first.topic}/${first.offset} and at ${topic}/${offset}`);
    this.stored.set(identity, { topic, offset });
  }

  /** A client was told its publish is stored at (topic, offset). */
  acknowledged(text: string, topic: string, offset: number): void {
    const identity = identityOf(text);
    const before = this.acked.get(identity);
    if (before !== undefined) {
      if (before.topic !== topic || before.offset !== offset) {
        fail(
          "stored once",
          `${identity} was acknowledged at ${before.topic}/${before.offset}, then at ${topic}/${offset}`,
        );
      }
      return;
    }
    const held = this.messages.get(topic)?.get(offset);
    if (held !== undefined && held !== text)
      fail("acknowledged publish", `${identity} was acknowledged at ${topic}/${offset}, which holds ${brief(held)}`);
    const stored = this.stored.get(identity);
    if (stored !== undefined && (stored.topic !== topic || stored.offset !== offset)) {
      fail(
        "acknowledged publish",
        `${identity} was acknowledged at ${topic}/${offset}, it is stored at ${stored.topic}/${stored.offset}`,
      );
    }
    this.acked.set(identity, { topic, offset, text });
    this.ackedAt.set(`${topic}/${offset}`, text);
  }

  /** A node's topic starts past offset 0: only retention may drop messages. */
  topicStart(id: number, topic: string, firstOffset: number): void {
    if (firstOffset > 0 && !this.retention)
      fail("retention", `node ${id}'s topic ${topic} starts at ${firstOffset} without retention`);
  }
}

export function fail(invariant: string, detail: string): never {
  throw new Violation(invariant, detail);
}

/** "producer/seq", the part of a message's text that names the publish. */
export function identityOf(text: string): string {
  const end = text.indexOf("/", text.indexOf("/") + 1);
  return end < 0 ? text : text.slice(0, end);
}

function brief(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
