import { encodeCommand } from "../broker/command-codec.ts";
import { REGISTER_ORDER_VERSION } from "../broker/command-versions.ts";
import type { Command, PublishMessage, Retention } from "../broker/commands.ts";
import type { ApplyResult } from "../broker/results.ts";
import { BrokerState } from "../broker/state-machine.ts";
import { type Entry, EntryKind, type Snapshot } from "../raft/index.ts";
import { MqraftError } from "../util/errors.ts";
import { GroupService } from "./group-service.ts";
import { PendingProposals } from "./pending-proposals.ts";
import { callbackSink, PublishBatcher, type PublishOutcome, type PublishSink } from "./publish-batcher.ts";
import type { RaftDriver } from "./raft-driver.ts";
import { type EntryReader, SubscriptionFeed } from "./subscription-feed.ts";

/**
 * The broker's replicated side on one node: proposes commands (as leader), applies committed
 * entries to the state machine, settles the proposals that produced them, and wakes the push
 * streams. Everything that changes broker state goes through the Raft log.
 */
export class ReplicatedBroker {
  state = new BrokerState();
  readonly pending = new PendingProposals();
  readonly batcher: PublishBatcher;
  readonly feed: SubscriptionFeed;
  /** Consumer groups' members connected here, and the leader's group duties (group-service.ts). */
  readonly groups: GroupService;
  private retentionProposedInTerm = -1;
  /** Refuses publishes when it returns an error (the disk alarm, disk-alarm.ts). */
  writeGate: () => MqraftError | undefined = () => undefined;
  /** Refuses another command (its type, its encoded bytes) when it returns an error (the disk alarm's budget). */
  commandGate: (type: string, bytes: number) => MqraftError | undefined = () => undefined;
  /** Refuses a command kind some member cannot apply yet (command-versions.ts). */
  versionGate: (type: Command["type"]) => MqraftError | undefined = () => undefined;
  /** Every member applies command version `version` (command-versions.ts): a changed command may carry it. */
  membersApply: (version: number) => boolean = () => true;

  constructor(
    private readonly driver: () => RaftDriver,
    read: EntryReader,
    private readonly now: () => number,
    private readonly defer: (fn: () => void) => void,
    private readonly wantedRetention: Retention,
    private readonly onConfigEntry: (entry: Entry) => void,
  ) {
    this.batcher = new PublishBatcher((data) => this.driver().propose(data), this.pending, now, defer);
    this.feed = new SubscriptionFeed(() => this.state, read, defer);
    this.groups = new GroupService({
      state: () => this.state,
      read,
      propose: (c) => this.propose(c),
      publish: (m, done) => this.publish(m, done),
      now,
      defer,
      isLeader: () => this.driver().raft.role === "leader",
      membersApply: (version) => this.membersApply(version),
    });
  }

  publish(message: PublishMessage, done: (outcome: PublishOutcome) => void): void {
    this.publishTo(message, callbackSink(done), 0, 0);
  }

  /** Publishes `message`; `sink` is told the outcome with `id` and `bytes` (publish-batcher.ts: no closure per publish). */
  publishTo(message: PublishMessage, sink: PublishSink, id: number, bytes: number): void {
    const refused = this.writeGate();
    if (refused !== undefined) {
      this.batcher.metrics.settled(refused, 1, performance.now());
      return sink.publishSettled(id, bytes, refused);
    }
    this.batcher.add(message, sink, id, bytes);
  }

  /** Proposes one non-publish command and resolves with its result once applied. */
  propose(asked: Command): Promise<ApplyResult> {
    return new Promise((resolve, reject) => {
      const command = this.marked(asked);
      const data = encodeCommand(command);
      const refused = this.versionGate(command.type) ?? this.commandGate(command.type, data.length);
      if (refused !== undefined) return reject(refused);
      const proposed = this.driver().propose(data);
      this.pending.add(proposed, (outcome) => {
        if (outcome instanceof MqraftError) reject(outcome);
        else resolve(outcome[0] ?? { type: "error", code: "REFUSED", message: "no result" });
      });
    });
  }

  /** A register orders incarnations by their sessions' start times once every member applies that (version 3). */
  private marked(command: Command): Command {
    if (command.type !== "register" || command.v !== undefined || !this.membersApply(REGISTER_ORDER_VERSION))
      return command;
    return { ...command, v: REGISTER_ORDER_VERSION };
  }

  apply(entries: Entry[]): void {
    for (const e of entries) {
      let results: ApplyResult[] = [];
      if (e.kind === EntryKind.Normal && e.data.length > 0) results = this.state.apply(e.index, e.data);
      else if (e.kind === EntryKind.Config) this.onConfigEntry(e);
      this.pending.applied(e.index, e.term, results);
    }
    this.feed.notify();
    this.groups.notify();
    // After advance(): the core counts these entries as applied only then.
    this.defer(() => this.proposeRetentionIfNeeded());
  }

  restore(snapshot: Snapshot): void {
    this.state = BrokerState.restore(snapshot.data);
    this.pending.dropThrough(snapshot.meta.index, "a snapshot from the leader replaced this node's log; retry");
    this.feed.notify();
    this.groups.notify();
  }

  /**
   * Retention is replicated so that every replica drops the same messages. It is set once: the first
   * leader with --retain-* flags proposes them while the cluster has none; after that a leader's flags
   * are ignored (brokers started with different flags would flip the policy at every leader change),
   * and the policy changes only by a `retention` request.
   */
  private proposeRetentionIfNeeded(): void {
    const raft = this.driver().raft;
    if (raft.role !== "leader" || this.retentionProposedInTerm === raft.term) return;
    if (raft.appliedIndex < raft.commitIndex) return;
    this.retentionProposedInTerm = raft.term;
    const wanted = this.wantedRetention;
    if (this.state.retentionSet || Object.values(wanted).every((limit) => limit === undefined)) return;
    this.propose({ type: "config", time: this.now(), retention: wanted }).catch(() => {
      this.retentionProposedInTerm = -1;
    });
  }
}
