/**
 * A small script language for scenarios of the Raft core, in the manner of etcd's data-driven tests: each
 * command is one line, its output follows a `----` line, and a blank line ends it; `#` lines are comments.
 * test/raft/scenarios.test.ts runs every file in test/raft/scenarios/ and compares the output with what is
 * written there (UPDATE=1 writes it instead). Nodes are TestNodes (harness.ts): an in-memory disk that keeps
 * the log and the hard state of every Ready, and a network that delivers only when told.
 */
import { type ConfChange, EntryKind, type Message } from "../../src/raft/index.ts";
import { isMqraftError } from "../../src/util/errors.ts";
import { describeDetail } from "../sim/describe.ts";
import { E, members, TestNode } from "./harness.ts";

export interface Block {
  /** Comment lines before the command, kept as they are. */
  comments: string[];
  command: string;
  output: string[];
}

export function parseScript(text: string): Block[] {
  const blocks: Block[] = [];
  const lines = text.split("\n");
  let comments: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.trim() === "") continue;
    if (line.startsWith("#")) {
      comments.push(line);
      continue;
    }
    if (lines[i + 1] !== "----") throw new Error(`line ${i + 2}: "----" expected after the command "${line}"`);
    const output: string[] = [];
    for (i += 2; i < lines.length && lines[i] !== ""; i++) output.push(lines[i] as string);
    blocks.push({ comments, command: line, output });
    comments = [];
  }
  return blocks;
}

export function formatScript(blocks: readonly Block[]): string {
  return `${blocks.map((b) => [...b.comments, b.command, "----", ...b.output].join("\n")).join("\n\n")}\n`;
}

/** Runs the commands of `blocks` in order on a new cluster; returns the blocks with the outputs they produced. */
export function runScript(blocks: readonly Block[]): Block[] {
  const s = new Scenario();
  return blocks.map((b) => ({ ...b, output: s.run(b.command) }));
}

class Scenario {
  private readonly nodes = new Map<number, TestNode>();
  private queue: Message[] = [];
  /** Partition groups: a message between two nodes of different groups is dropped. */
  private groups: number[][] = [];
  private out: string[] = [];
  /** The founders' configuration: a node added later starts from it too, as a joiner replays the founding entries. */
  private founding = members([], []);
  private options = {};

  run(command: string): string[] {
    this.out = [];
    const [verb, ...args] = command.trim().split(/\s+/);
    const opts = Object.fromEntries(args.filter((a) => a.includes("=")).map((a) => a.split("=") as [string, string]));
    const plain = args.filter((a) => !a.includes("="));
    const id = (k = 0) => Number(plain[k]);
    try {
      switch (verb) {
        case "add-nodes":
          this.addNodes(id(), opts);
          break;
        case "campaign":
          this.campaign(id());
          break;
        case "tick":
          for (let i = 0; i < Number(plain[1] ?? 1); i++) this.node(id()).raft.tick();
          this.process();
          break;
        case "propose": {
          const p = this.node(id()).raft.propose(new TextEncoder().encode(plain[1] ?? "x"));
          this.say(`${id()} proposed index ${p.index} term ${p.term}`);
          this.process();
          break;
        }
        case "conf":
          this.conf(id(), plain[1] ?? "", Number(plain[2]));
          break;
        case "process":
          this.process();
          break;
        case "deliver":
          this.deliver();
          break;
        case "drop":
          this.drop(opts);
          break;
        case "stabilize":
          this.stabilize();
          break;
        case "partition":
          this.groups = plain.map((g) => g.split(",").map(Number));
          this.say(`partitioned ${this.groups.map((g) => `{${g.join(",")}}`).join(" ")}`);
          break;
        case "heal":
          this.groups = [];
          this.say("healed");
          break;
        case "restart":
          this.restart(id(), opts);
          break;
        case "snapshot":
          this.snapshot(id(), Number(plain[1]));
          break;
        case "send-snapshot":
          this.sendSnapshot(id(), id(1));
          break;
        case "progress":
          for (const p of this.node(id()).raft.status().peers)
            this.say(`${id()} -> ${p.id}: match ${p.match} next ${p.next}`);
          break;
        case "status":
          for (const n of this.nodes.values()) this.say(this.status(n));
          break;
        case "log":
          this.say(
            `${id()}: terms ${this.node(id()).persistedTerms().join(" ")} (first ${this.node(id()).log.firstIndex()})`,
          );
          break;
        default:
          throw new Error(`unknown command "${verb}"`);
      }
    } catch (e) {
      if (!isMqraftError(e)) throw e;
      this.say(`error ${e.code}: ${e.message}`);
    }
    return this.out.length === 0 ? ["ok"] : this.out;
  }

  private say(line: string): void {
    this.out.push(line);
  }

  private node(id: number): TestNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  private addNodes(count: number, opts: Record<string, string>): void {
    const voters = opts.voters === undefined ? [] : opts.voters.split(",").map(Number);
    const first = this.nodes.size + 1;
    const ids = Array.from({ length: count }, (_, i) => first + i);
    const m = members(voters.length > 0 ? voters : ids, []);
    this.founding = m;
    const options = {
      preVote: opts.prevote !== "false",
      checkQuorum: opts.checkquorum !== "false",
      ...(opts.maxinflight === undefined ? {} : { maxInflight: Number(opts.maxinflight) }),
      ...(opts.maxmsgbytes === undefined ? {} : { maxMsgBytes: Number(opts.maxmsgbytes) }),
    };
    this.options = options;
    for (const i of ids) this.nodes.set(i, new TestNode(i, m, options));
    this.say(`added ${ids.join(",")}: voters ${m.voters.join(",")}`);
  }

  private campaign(id: number): void {
    const n = this.node(id);
    for (let i = 0; i < 2 * E && n.raft.role === "follower"; i++) n.raft.tick();
    this.say(`${id} is ${n.raft.role} in term ${n.raft.term}`);
    this.process();
  }

  private conf(id: number, op: string, target: number): void {
    const ops: Record<string, ConfChange> = {
      "add-learner": { op: "addLearner", id: target, address: `127.0.0.1:${8000 + target}` },
      promote: { op: "promote", id: target },
      remove: { op: "remove", id: target },
    };
    const cc = ops[op];
    if (cc === undefined) throw new Error(`unknown configuration change "${op}"`);
    if (cc.op === "addLearner" && !this.nodes.has(target))
      this.nodes.set(target, new TestNode(target, this.founding, this.options));
    const p = this.node(id).raft.proposeConfChange(cc);
    this.say(`${id} proposed ${op} ${target} at index ${p.index}`);
    this.process();
  }

  /** Ready cycles on every node; what they send is queued. */
  private process(): void {
    for (const n of this.nodes.values()) {
      const before = `${n.raft.role}/${n.raft.term}`;
      for (let rd = n.cycle(); rd !== undefined; rd = n.cycle()) {
        for (const e of rd.committed)
          if (e.kind === EntryKind.Config)
            this.say(`${n.id} applied configuration ${e.index}: voters ${n.raft.membership.voters.join(",")}`);
        this.queue.push(...rd.messages);
      }
      const after = `${n.raft.role}/${n.raft.term}`;
      if (after !== before) this.say(`${n.id} became ${n.raft.role} in term ${n.raft.term}`);
    }
  }

  /** Delivers every queued message (in the order sent), then lets the receivers process. */
  private deliver(): void {
    const batch = this.queue;
    this.queue = [];
    for (const m of batch) {
      const to = this.nodes.get(m.to);
      if (to === undefined) continue;
      if (this.cut(m.from, m.to)) {
        this.say(`drop ${describeDetail(m)}`);
        continue;
      }
      this.say(describeDetail(m));
      to.raft.step(m);
    }
    this.process();
  }

  /** Loses the queued messages that match every given `type=`, `from=` and `to=`. */
  private drop(opts: Record<string, string>): void {
    const matches = (m: Message) =>
      (opts.type === undefined || m.type === opts.type) &&
      (opts.from === undefined || m.from === Number(opts.from)) &&
      (opts.to === undefined || m.to === Number(opts.to));
    for (const m of this.queue) if (matches(m)) this.say(`drop ${describeDetail(m)}`);
    this.queue = this.queue.filter((m) => !matches(m));
  }

  private stabilize(): void {
    this.process();
    for (let round = 0; this.queue.length > 0; round++) {
      if (round > 100) throw new Error("stabilize: messages keep coming");
      this.deliver();
    }
  }

  private cut(a: number, b: number): boolean {
    if (this.groups.length === 0) return false;
    const group = (x: number) => this.groups.findIndex((g) => g.includes(x));
    return group(a) !== group(b);
  }

  /** A crash: memory and the messages it had not sent are lost; the disk stays. `commit=N` rolls the saved commit back. */
  private restart(id: number, opts: Record<string, string>): void {
    const n = this.node(id);
    this.queue = this.queue.filter((m) => m.from !== id);
    if (opts.commit !== undefined) n.hardState = { ...n.hardState, commit: Number(opts.commit) };
    if (opts.applied !== undefined) n.appliedIndex = Number(opts.applied);
    n.restart();
    this.say(
      `${id} restarted: term ${n.raft.term} commit ${n.raft.commitIndex} applied ${n.raft.appliedIndex} voters ${n.raft.membership.voters.join(",")}`,
    );
    this.process();
  }

  private snapshot(id: number, index: number): void {
    const n = this.node(id);
    const snap = { meta: n.raft.compact(index), data: new Uint8Array([index]) };
    n.log.saveSnapshot(snap);
    n.log.compact(index);
    this.say(`${id} snapshot at ${index}; log starts at ${n.log.firstIndex()}`);
  }

  /** Queues the sender's stored snapshot for `to` as one chunk, in the sender's term (a delayed or repeated send). */
  private sendSnapshot(from: number, to: number): void {
    const n = this.node(from);
    const snap = n.log.snapshot();
    if (snap === undefined) throw new Error(`node ${from} holds no snapshot`);
    this.queue.push({
      type: "snapshot",
      from,
      to,
      term: n.raft.term,
      meta: snap.meta,
      offset: 0,
      data: snap.data,
      done: true,
    });
    this.say(`${from} sends its snapshot at ${snap.meta.index} to ${to}`);
  }

  private status(n: TestNode): string {
    const r = n.raft;
    const m = r.membership;
    const learners = m.learners.length > 0 ? ` learners ${m.learners.join(",")}` : "";
    return `${n.id}: ${r.role} term ${r.term} last ${r.lastIndex()} commit ${r.commitIndex} applied ${r.appliedIndex} voters ${m.voters.join(",")}${learners}`;
  }
}
