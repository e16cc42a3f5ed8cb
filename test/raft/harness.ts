/**
 * Helpers for unit tests of the Raft core: a node with an in-memory disk and a driver that runs
 * Ready cycles by hand, and a cluster that delivers messages between such nodes synchronously.
 */
import {
  type Entry,
  EntryKind,
  type HardState,
  type Membership,
  MemoryLog,
  type Message,
  RaftNode,
  type RaftOptions,
  type Ready,
  type Snapshot,
} from "../../src/raft/index.ts";
import { isMqraftError } from "../../src/util/errors.ts";
import { createPrng } from "../../src/util/prng.ts";

export type TestOptions = Partial<Omit<RaftOptions, "id">>;

export const E = 10;

export function members(voters: number[], learners: number[] = []): Membership {
  const addresses: Record<string, string> = {};
  for (const id of [...voters, ...learners]) addresses[id] = `127.0.0.1:${8000 + id}`;
  return { voters, learners, addresses };
}

export const bytes = (...values: number[]) => new Uint8Array(values);

export class TestNode {
  readonly log = new MemoryLog();
  hardState: HardState = { term: 0, vote: 0, commit: 0 };
  raft: RaftNode;
  readonly applied: Entry[] = [];
  readonly installed: Snapshot[] = [];
  /** What the state machine applied, kept on "disk" like the rest. */
  appliedIndex = 0;
  /** Every Ready this node produced, in order. */
  readonly readies: Ready[] = [];

  constructor(
    readonly id: number,
    membership: Membership,
    private readonly options: TestOptions = {},
  ) {
    // An empty snapshot at index 0 carries the initial membership, so that logs start at index 1.
    this.log.applySnapshot({ meta: { index: 0, term: 0, membership }, data: new Uint8Array(0) });
    this.raft = this.boot(0);
  }

  /** A crash and restart: memory is lost, the disk (log, hard state, applied index) is kept. */
  restart(): void {
    this.raft = this.boot(this.appliedIndex);
  }

  /** Replaces this node's disk with a log whose entry i+1 has term terms[i], then restarts it. */
  seedLog(terms: number[], hardState: HardState): void {
    this.log.append(
      terms.map((term, i) => ({ index: i + 1, term, kind: EntryKind.Normal, data: new Uint8Array([i + 1]) })),
    );
    this.hardState = hardState;
    this.restart();
  }

  /** The terms of the persisted log, index 1 first. */
  persistedTerms(): number[] {
    const out: number[] = [];
    for (let i = this.log.firstIndex(); i <= this.log.lastIndex(); i++) out.push(this.log.term(i) ?? -1);
    return out;
  }

  /** One Ready cycle (persist, apply, advance); undefined when there was nothing to do. */
  cycle(): Ready | undefined {
    if (!this.raft.hasReady()) return undefined;
    const rd = this.raft.ready();
    this.readies.push(rd);
    if (rd.snapshot !== undefined) {
      this.log.applySnapshot(rd.snapshot);
      this.installed.push(rd.snapshot);
      this.appliedIndex = rd.snapshot.meta.index;
    }
    this.log.append(rd.entries);
    if (rd.hardState !== undefined) this.hardState = rd.hardState;
    this.applied.push(...rd.committed);
    this.appliedIndex = rd.committed.at(-1)?.index ?? this.appliedIndex;
    this.raft.advance(rd);
    return rd;
  }

  /** Runs Ready cycles until none is left; returns every message they carried, in order. */
  flush(): Message[] {
    const out: Message[] = [];
    for (let rd = this.cycle(); rd !== undefined; rd = this.cycle()) out.push(...rd.messages);
    return out;
  }

  /** Ticks until the node emits something (at most `limit` ticks); returns the messages. */
  tickUntilMessages(limit = 2 * E): Message[] {
    for (let i = 0; i < limit; i++) {
      this.raft.tick();
      const msgs = this.flush();
      if (msgs.length > 0) return msgs;
    }
    throw new Error(`node ${this.id} sent nothing in ${limit} ticks`);
  }

  step(m: Message): Message[] {
    this.raft.step(m);
    return this.flush();
  }

  private boot(applied: number): RaftNode {
    const options: RaftOptions = {
      id: this.id,
      prng: createPrng(this.id),
      electionTicks: E,
      heartbeatTicks: 1,
      applied,
      ...this.options,
    };
    return new RaftNode(options, this.log, this.hardState);
  }
}

export type Filter = (m: Message) => boolean;

/** Nodes wired by a synchronous network; `drop` filters decide which messages are lost. */
export class TestCluster {
  readonly nodes = new Map<number, TestNode>();
  readonly drop: Filter[] = [];
  /** Every message delivered, in order. */
  readonly delivered: Message[] = [];

  constructor(voters: number[], options: TestOptions = {}, learners: number[] = []) {
    const m = members(voters, learners);
    for (const id of [...voters, ...learners]) this.nodes.set(id, new TestNode(id, m, options));
  }

  node(id: number): TestNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** Delivers `msgs` and everything they cause until the network is quiet. */
  deliver(msgs: Message[]): void {
    const queue = [...msgs];
    for (let m = queue.shift(); m !== undefined; m = queue.shift()) {
      const to = this.nodes.get(m.to);
      if (to === undefined || this.drop.some((f) => f(m as Message))) continue;
      this.delivered.push(m);
      queue.push(...to.step(m));
    }
  }

  /** Cuts `id` off from everyone, both ways. */
  isolate(id: number): Filter {
    const f: Filter = (m) => m.from === id || m.to === id;
    this.drop.push(f);
    return f;
  }

  heal(): void {
    this.drop.length = 0;
  }

  /** Ticks only `id` until it campaigns (delivering everything), for at most two election timeouts. */
  elect(id: number): void {
    const node = this.node(id);
    for (let i = 0; i < 2 * E && node.raft.role !== "leader"; i++) {
      node.raft.tick();
      const msgs = node.flush();
      this.deliver(msgs);
      if (msgs.length > 0) return;
    }
  }

  /** Every node ticks `n` times, delivering after each round. */
  tickAll(n: number): void {
    for (let i = 0; i < n; i++) {
      for (const node of this.nodes.values()) {
        node.raft.tick();
        this.deliver(node.flush());
      }
    }
  }

  propose(leader: number, data: Uint8Array): number {
    const { index } = this.node(leader).raft.propose(data);
    this.deliver(this.node(leader).flush());
    return index;
  }
}

export function ofType<T extends Message["type"]>(msgs: Message[], type: T): (Message & { type: T })[] {
  return msgs.filter((m): m is Message & { type: T } => m.type === type);
}

/** "CODE: message" of the MqraftError `action` throws, or "no error". */
export function errorOf(action: () => unknown): string {
  try {
    action();
    return "no error";
  } catch (e) {
    if (isMqraftError(e)) return `${e.code}: ${e.message}`;
    throw e;
  }
}
