/**
 * One incarnation of a simulated broker: the production RaftDriver, ReplicatedBroker (with its
 * PublishBatcher and PendingProposals), LogStore and RaftNode, wired the way src/node/broker-node.ts
 * wires them (boot, apply, snapshot every N entries, compaction, snapshot install with the retained
 * history). Only the process edges differ: the Fs is a simulated disk, `defer` is the simulator's
 * scheduler, messages go to the simulated network, and the checker watches what is applied.
 */
import { decodeEntryMessages } from "../../../src/broker/command-codec.ts";
import type { PublishMessage } from "../../../src/broker/commands.ts";
import { BrokerState } from "../../../src/broker/state-machine.ts";
import type { PublishOutcome } from "../../../src/node/publish-batcher.ts";
import { RaftDriver } from "../../../src/node/raft-driver.ts";
import { ReplicatedBroker } from "../../../src/node/replicated-broker.ts";
import { nextSnapshotIndex } from "../../../src/node/snapshot-schedule.ts";
import { TransferLogView, unpackTransfer } from "../../../src/node/snapshot-transfer.ts";
import { bootstrap, type Entry, type Message, RaftNode, type Snapshot } from "../../../src/raft/index.ts";
import type { Fs } from "../../../src/storage/fs.ts";
import { LogStore } from "../../../src/storage/log-store.ts";
import { PartsSnapshot } from "../../../src/storage/parts-snapshot.ts";
import { describeError } from "../../../src/util/errors.ts";
import type { Prng } from "../../../src/util/prng.ts";
import { type BrokerChecker, fail } from "./broker-checker.ts";
import type { DriverProfile } from "./driver-profile.ts";

/** Ticks per election timeout: production's 1000 ms election over 100 ms heartbeats. */
export const ELECTION_TICKS = 10;
const DATA_DIR = "/data";
const utf8 = new TextDecoder();

export interface ReplicaEnv {
  id: number;
  fs: Fs;
  /** The founding voters. */
  peers: readonly number[];
  profile: DriverProfile;
  prng: Prng;
  checker: BrokerChecker;
  /** This node's wall clock in ms. */
  now(): number;
  /** Runs `fn` on a later turn of this node's process (setImmediate in production). */
  defer(fn: () => void): void;
  send(messages: Message[]): void;
  /** The driver stopped on an error, or the simulator's checks failed inside it. */
  fatal(error: unknown): void;
  trace(what: string, detail?: unknown): void;
}

export class BrokerReplica {
  readonly broker: ReplicatedBroker;
  readonly driver: RaftDriver;
  private snapshotting = false;
  /** The last index the state machine reached, as the checker follows it. */
  private applied: number;
  /** Per topic, the offset up to which messages were read back from the log and checked. */
  private readonly checked = new Map<string, number>();

  /** Opens the data folder and builds the node like BrokerNode.start and boot. */
  static async boot(env: ReplicaEnv): Promise<BrokerReplica> {
    const store = await LogStore.open({ fs: env.fs, dir: DATA_DIR, maxSegmentBytes: env.profile.segmentBytes });
    const fresh = store.lastIndex() === 0 && store.snapshot() === undefined;
    if (fresh) {
      const addresses = Object.fromEntries(env.peers.map((id) => [String(id), `sim:${id}`]));
      const first = bootstrap({ voters: [...env.peers], learners: [], addresses });
      store.append(first.entries);
      store.saveHardState(first.hardState);
      await store.sync();
    }
    env.checker.recovered(env.id, store.hardState());
    return new BrokerReplica(env, store);
  }

  private constructor(
    private readonly env: ReplicaEnv,
    readonly store: LogStore,
  ) {
    const { profile } = env;
    const snapshot = store.snapshot();
    const saved = store.hardState();
    const hardState = { ...saved, commit: Math.min(saved.commit, store.lastIndex()) };
    const raft = new RaftNode(
      {
        id: env.id,
        prng: env.prng,
        electionTicks: ELECTION_TICKS,
        heartbeatTicks: 1,
        ...(profile.maxMsgBytes === undefined ? {} : { maxMsgBytes: profile.maxMsgBytes }),
        ...(profile.maxSnapshotChunk === undefined ? {} : { maxSnapshotChunk: profile.maxSnapshotChunk }),
        ...(profile.maxInflight === undefined ? {} : { maxInflight: profile.maxInflight }),
      },
      new TransferLogView(store),
      hardState,
    );
    this.broker = new ReplicatedBroker(
      () => this.driver,
      (index) => this.readEntry(index),
      env.now,
      env.defer,
      profile.retention,
      (e) => env.trace("config applied", { index: e.index }),
    );
    if (snapshot !== undefined) this.broker.state = BrokerState.restore(snapshot.data);
    this.applied = raft.appliedIndex;
    this.driver = new RaftDriver(
      raft,
      store,
      {
        send: (messages) => {
          for (const m of messages) if (m.type === "voteResponse" && !m.reject) env.checker.voted(env.id, m.term, m.to);
          env.send(messages);
        },
        apply: (entries) => this.apply(entries),
        advanced: () => this.maybeSnapshot(),
        installSnapshot: (snap) => this.installSnapshot(snap),
        fatal: (e) => env.fatal(e),
      },
      hardState,
      env.defer,
    );
    env.trace("boot", {
      first: store.firstIndex(),
      last: store.lastIndex(),
      snapshot: snapshot?.meta.index ?? 0,
      ...saved,
    });
    this.verifyRetained();
  }

  get raft(): RaftNode {
    return this.driver.raft;
  }

  publish(message: PublishMessage, done: (outcome: PublishOutcome) => void): void {
    this.broker.publish(message, done);
  }

  /** The message at (topic, offset) read back from the log, or why this node holds none. */
  messageAt(topic: string, offset: number): { text: string } | "dropped" | "future" {
    const at = this.broker.state.locate(topic, offset);
    if (typeof at === "string") return at;
    const data = this.readEntry(at.index);
    const m = data === undefined ? undefined : decodeEntryMessages(data)[at.slot];
    if (m === undefined)
      fail(
        "retained message in the log",
        `node ${this.env.id} cannot read ${topic}/${offset} at index ${at.index} slot ${at.slot}`,
      );
    return { text: utf8.decode(m.data) };
  }

  private apply(entries: Entry[]): void {
    this.env.checker.applying(this.env.id, this.applied, entries);
    this.applied = entries.at(-1)?.index ?? this.applied;
    this.broker.apply(entries);
    this.verifyRetained();
  }

  private readEntry(index: number): Uint8Array | undefined {
    if (index < this.store.firstIndex() || index > this.store.lastIndex()) return undefined;
    return this.store.entries(index, index + 1)[0]?.data;
  }

  private async installSnapshot(snapshot: Snapshot): Promise<void> {
    const { index, term } = snapshot.meta;
    if (index <= this.applied)
      fail("applied monotonic", `node ${this.env.id} installs a snapshot at ${index} over applied ${this.applied}`);
    const transfer = unpackTransfer(snapshot.data);
    const state: Snapshot = { meta: snapshot.meta, data: transfer.state };
    await this.store.installSnapshot(state, { prevTerm: transfer.prevTerm, entries: transfer.entries });
    this.broker.restore(state);
    this.env.checker.stateAt(this.env.id, index, term, transfer.state);
    this.applied = index;
    this.env.trace("install snapshot", { index, term, retained: transfer.entries.length });
    this.checked.clear();
    this.verifyRetained();
  }

  /**
   * BrokerNode.maybeSnapshot: a snapshot every `snapshotEvery` applied entries, at this node's own indexes, then compaction.
   * One difference: the oldest entry still needed is taken from the state the snapshot holds, not
   * from the state once the snapshot is saved. Entries applied meanwhile may let retention drop a
   * message the snapshot still retains, and a node restarting from that snapshot, or a follower
   * installing it, then retains a message whose entry is gone (seed 79 of the driver simulation).
   */
  private maybeSnapshot(): void {
    const raft = this.driver.raft;
    const applied = raft.appliedIndex;
    const current = this.store.snapshot()?.meta.index ?? 0;
    if (this.snapshotting || applied < nextSnapshotIndex(current, this.env.profile.snapshotEvery, this.env.id)) return;
    this.snapshotting = true;
    const snapshot = new PartsSnapshot(raft.compact(applied), this.broker.state.snapshotParts());
    const lowest = this.broker.state.lowestNeededIndex() ?? applied + 1;
    this.env.checker.stateAt(this.env.id, applied, snapshot.meta.term, Buffer.concat(snapshot.parts));
    this.store
      .saveSnapshot(snapshot)
      .then(() => {
        this.store.compactPrefix(Math.min(applied, lowest - 1));
        this.env.trace("snapshot", { index: applied, first: this.store.firstIndex() });
      })
      .catch((e) => this.env.trace("snapshot failed", { index: applied, error: describeError(e) }))
      .finally(() => {
        this.snapshotting = false;
      });
  }

  /**
   * Reads every retained message not yet checked back from the log, as a subscriber would, and
   * hands it to the checker: the log must still hold it, and it must agree with every other node.
   */
  private verifyRetained(): void {
    const state = this.broker.state;
    for (const topic of state.topics()) {
      const info = state.topicInfo(topic);
      if (info === undefined) continue;
      this.env.checker.topicStart(this.env.id, topic, info.firstOffset);
      const from = Math.max(this.checked.get(topic) ?? 0, info.firstOffset);
      if (from >= info.nextOffset) continue;
      let lastIndex = -1;
      let messages: (PublishMessage | undefined)[] = [];
      for (const at of state.scan(topic, from, info.nextOffset - from)) {
        if (at.index !== lastIndex) {
          const data = this.readEntry(at.index);
          if (data === undefined)
            fail(
              "retained message in the log",
              `node ${this.env.id} retains ${topic}/${at.offset} at index ${at.index}, outside its log [${this.store.firstIndex()}, ${this.store.lastIndex()}]`,
            );
          messages = decodeEntryMessages(data);
          lastIndex = at.index;
        }
        const m = messages[at.slot];
        if (m === undefined || m.topic !== topic)
          fail(
            "retained message in the log",
            `node ${this.env.id}: index ${at.index} slot ${at.slot} does not hold ${topic}/${at.offset}`,
          );
        this.env.checker.holds(this.env.id, topic, at.offset, utf8.decode(m.data));
      }
      this.checked.set(topic, info.nextOffset);
    }
  }
}
