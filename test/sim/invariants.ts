/**
 * Raft's safety properties, checked incrementally after every simulated event:
 * election safety, log matching, leader completeness, state machine safety, commit and applied
 * indexes that never go backwards, and one vote per term, across restarts too.
 */
import type { Entry, HardState, MemoryLog, RaftNode } from "../../src/raft/index.ts";

export class Violation extends Error {
  override readonly name = "Violation";
  constructor(
    readonly invariant: string,
    detail: string,
  ) {
    super(`${invariant}: ${detail}`);
  }
}

interface NodeMarks {
  commit: number;
  persistedCommit: number;
  applied: number;
  term: number;
  vote: number;
}

export class Checker {
  private readonly leaders = new Map<number, number>();
  /** Term of the entry committed at each index, as first observed. */
  private readonly committedTerm: number[] = [];
  private maxCommit = 0;
  /** State hash after applying each index, as first observed. */
  private readonly stateHash: number[] = [];
  /** (index, term) -> term of the previous entry and hash of the entry's data, for log matching. */
  private readonly entries = new Map<number, { prevTerm: number | undefined; data: number }>();
  private readonly votes = new Map<number, number>();
  private readonly marks = new Map<number, NodeMarks>();
  private readonly leadersNow = new Set<RaftNode>();

  private mark(id: number): NodeMarks {
    let m = this.marks.get(id);
    if (m === undefined) {
      m = { commit: 0, persistedCommit: 0, applied: 0, term: 0, vote: 0 };
      this.marks.set(id, m);
    }
    return m;
  }

  /** A node (re)started from its disk: its commit index restarts at the persisted one. */
  restarted(id: number, raft: RaftNode): void {
    const m = this.mark(id);
    if (raft.commitIndex < m.persistedCommit) {
      fail(
        "commit monotonic",
        `node ${id} restarted with commit ${raft.commitIndex} below persisted ${m.persistedCommit}`,
      );
    }
    m.commit = raft.commitIndex;
    this.observe(id, raft);
  }

  crashed(raft: RaftNode): void {
    this.leadersNow.delete(raft);
  }

  /** After every event on node `id`. */
  observe(id: number, raft: RaftNode): void {
    const m = this.mark(id);
    if (raft.role === "leader") {
      const term = raft.term;
      const holder = this.leaders.get(term);
      if (holder === undefined) {
        this.leaders.set(term, id);
        this.leadersNow.add(raft);
        this.checkLeaderHasCommitted(id, raft);
      } else if (holder !== id) {
        fail("election safety", `nodes ${holder} and ${id} are both leaders of term ${term}`);
      }
    } else {
      this.leadersNow.delete(raft);
    }
    const commit = raft.commitIndex;
    if (commit < m.commit) fail("commit monotonic", `node ${id} commit went from ${m.commit} to ${commit}`);
    if (commit > m.commit) this.committed(id, raft, m.commit, commit);
    m.commit = commit;
    const applied = raft.appliedIndex;
    if (applied < m.applied) fail("applied monotonic", `node ${id} applied went from ${m.applied} to ${applied}`);
    m.applied = applied;
  }

  private committed(id: number, raft: RaftNode, from: number, to: number): void {
    for (let i = from + 1; i <= to; i++) {
      const t = raft.termAt(i);
      if (t === undefined) continue;
      const known = this.committedTerm[i];
      if (known === undefined) this.committedTerm[i] = t;
      else if (known !== t)
        fail("state machine safety", `node ${id} committed index ${i} at term ${t}, another node at term ${known}`);
    }
    if (to > this.maxCommit) {
      this.maxCommit = to;
      for (const leader of this.leadersNow) this.checkLeaderHasCommitted(leader.id, leader);
    }
  }

  /** Leader completeness: a leader of a term at or after a committed entry's term holds that entry. */
  private checkLeaderHasCommitted(id: number, raft: RaftNode): void {
    const index = this.maxCommit;
    const term = this.committedTerm[index];
    if (term === undefined || raft.term < term) return;
    const held = raft.termAt(index);
    if (held === term) return;
    if (held === undefined && index < raft.status().firstIndex) return;
    fail(
      "leader completeness",
      `leader ${id} of term ${raft.term} holds term ${held} at committed index ${index} (term ${term})`,
    );
  }

  /** The driver persisted a Ready: hard state and entries are now on node `id`'s disk. */
  persisted(id: number, hs: HardState | undefined, entries: readonly Entry[], log: MemoryLog): void {
    const m = this.mark(id);
    if (hs !== undefined) {
      if (hs.term < m.term) fail("term monotonic", `node ${id} persisted term ${hs.term} after ${m.term}`);
      if (hs.term === m.term && m.vote !== 0 && hs.vote !== m.vote) {
        fail("one vote per term", `node ${id} persisted vote ${hs.vote} in term ${hs.term} after voting ${m.vote}`);
      }
      if (hs.commit < m.persistedCommit)
        fail("commit monotonic", `node ${id} persisted commit ${hs.commit} after ${m.persistedCommit}`);
      m.term = hs.term;
      m.vote = hs.vote;
      m.persistedCommit = hs.commit;
    }
    for (const e of entries) {
      const key = e.index * 1048576 + e.term;
      const prevTerm = log.term(e.index - 1);
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

  /** A vote granted on the wire (votes count only once sent, which is after they are persisted). */
  voted(id: number, term: number, candidate: number): void {
    const key = id * 1048576 + term;
    const before = this.votes.get(key);
    if (before === undefined) this.votes.set(key, candidate);
    else if (before !== candidate)
      fail("one vote per term", `node ${id} voted for ${before} and ${candidate} in term ${term}`);
  }

  /** Node `id`'s state machine reached `index` with state `hash` (by applying an entry or a snapshot). */
  stateAt(id: number, index: number, hash: number): void {
    const known = this.stateHash[index];
    if (known === undefined) this.stateHash[index] = hash;
    else if (known !== hash)
      fail("state machine safety", `node ${id} state at index ${index} differs from another node's`);
  }
}

function fail(invariant: string, detail: string): never {
  throw new Violation(invariant, detail);
}

/** FNV-1a over an entry's kind and data, chained onto `seed`: a state machine's running digest. */
export function hashEntry(seed: number, e: Entry): number {
  let h = (seed ^ 0x811c9dc5 ^ e.kind) >>> 0;
  h = Math.imul(h, 0x01000193);
  const d = e.data;
  for (let i = 0; i < d.length; i++) h = Math.imul(h ^ (d[i] as number), 0x01000193);
  return h >>> 0;
}
