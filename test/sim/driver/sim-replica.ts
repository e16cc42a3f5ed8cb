/**
 * One incarnation of a simulated broker: production's BrokerAssembly (store, Raft core, driver,
 * replicated broker, snapshots), given the simulated disk, the simulator's clock and network, and
 * the checker as its observer. Only the checks are added here: what is applied, and every retained
 * message read back from the log as a subscriber would.
 */
import { decodeEntryMessages } from "../../../src/broker/command-codec.ts";
import type { PublishMessage } from "../../../src/broker/commands.ts";
import { type AssemblyOptions, BrokerAssembly } from "../../../src/node/broker-assembly.ts";
import type { Clock } from "../../../src/node/clock.ts";
import { reopenAfterDiskFull } from "../../../src/node/disk-full-reopen.ts";
import type { FreeSpace } from "../../../src/node/free-space.ts";
import type { PublishOutcome } from "../../../src/node/publish-batcher.ts";
import type { RaftDriver } from "../../../src/node/raft-driver.ts";
import type { ReplicatedBroker } from "../../../src/node/replicated-broker.ts";
import type { Message, RaftNode } from "../../../src/raft/index.ts";
import type { LogStore } from "../../../src/storage/log-store.ts";
import type { SimFs } from "../../../src/storage/sim-fs.ts";
import type { Logger } from "../../../src/util/log.ts";
import type { Prng } from "../../../src/util/prng.ts";
import { type BrokerChecker, fail } from "./broker-checker.ts";
import type { DriverProfile } from "./driver-profile.ts";

/** Ticks per election timeout: production's 1000 ms election over 100 ms heartbeats. */
export const ELECTION_TICKS = 10;
/** Simulated milliseconds per tick: production's 100 ms heartbeat. */
const TICK_MS = 100;
const DATA_DIR = "/data";
/**
 * The disk alarm's minimum: a disk-full fault (sim-broker.ts) leaves a few hundred to a few thousand bytes, so the
 * alarm rises on some machines before their writes fail with ENOSPC and on others not at all.
 */
const MIN_FREE_BYTES = 1000;
/** What an unfilled simulated disk reports: far above the minimum. */
const UNFILLED: FreeSpace = { freeBytes: 2 ** 40, totalBytes: 2 ** 41 };
const utf8 = new TextDecoder();

export interface ReplicaEnv {
  id: number;
  fs: SimFs;
  /** The founding voters. */
  peers: readonly number[];
  profile: DriverProfile;
  prng: Prng;
  checker: BrokerChecker;
  /** This node's clock: its wall time and timers on the current process. */
  clock: Clock;
  send(messages: Message[]): void;
  /** The driver stopped on an error, or the simulator's checks failed inside it. */
  fatal(error: unknown): void;
  /** A write failed with ENOSPC: the assembly stopped, and the machine reopens it (reopen()). */
  diskFull(): void;
  trace(what: string, detail?: unknown): void;
  /** Open a corrupt log by cutting it (--repair). */
  repair: boolean;
  /** The broker applied its own removal and that is the last word. */
  removed(): void;
}

/** Production's assembly options, given the simulated disk, clock and network, with the checker as observer. */
function assemblyOptions(env: ReplicaEnv, self: () => SimReplica | undefined): AssemblyOptions {
  const { profile, fs } = env;
  return {
    id: env.id,
    fs,
    dataDir: DATA_DIR,
    clock: env.clock,
    transport: { send: (messages) => env.send(messages) },
    prng: env.prng,
    log: quiet,
    founders: env.peers.map((id) => ({ id, address: `sim:${id}` })),
    heartbeatMs: TICK_MS,
    raft: {
      electionTicks: ELECTION_TICKS,
      heartbeatTicks: 1,
      ...(profile.maxMsgBytes === undefined ? {} : { maxMsgBytes: profile.maxMsgBytes }),
      ...(profile.maxSnapshotChunk === undefined ? {} : { maxSnapshotChunk: profile.maxSnapshotChunk }),
      ...(profile.maxInflight === undefined ? {} : { maxInflight: profile.maxInflight }),
    },
    segmentBytes: profile.segmentBytes,
    snapshotEvery: profile.snapshotEvery,
    retention: profile.retention,
    repair: env.repair,
    configApplied: (e) => env.trace("config applied", { index: e.index }),
    removed: () => env.removed(),
    fatal: (e) => env.fatal(e),
    diskFull: () => env.diskFull(),
    // the simulated disk's room, as statfs would report it: what a disk-full fault left (sim-broker.ts)
    freeSpace: () => {
      const capacity = fs.capacityBytes;
      if (capacity === undefined) return UNFILLED;
      return { freeBytes: Math.max(0, capacity - fs.usedBytes()), totalBytes: capacity };
    },
    minFreeBytes: MIN_FREE_BYTES,
    observer: {
      recovered: (hs) => env.checker.recovered(env.id, hs),
      applying: (applied, entries) => env.checker.applying(env.id, applied, entries),
      stateAt: (index, term, state, how) => {
        env.checker.snapshotAt(env.id, index, term, state);
        if (how === "installed") self()?.installed();
      },
      sent: (messages) => {
        for (const m of messages) if (m.type === "voteResponse" && !m.reject) env.checker.voted(env.id, m.term, m.to);
      },
      applied: () => self()?.verifyRetained(),
      trace: (what, detail) => env.trace(what, detail),
    },
  };
}

/** Logs nothing: the simulator keeps its own trace. */
const quiet: Logger = {
  error: () => {},
  warn: () => {},
  info: () => {},
  debug: () => {},
  trace: () => {},
  enabled: () => false,
};

export class SimReplica {
  /** Per topic, the offset up to which messages were read back from the log and checked. */
  private readonly checked = new Map<string, number>();

  /** Opens the data folder and builds the node with production's assembly. */
  static async boot(env: ReplicaEnv): Promise<SimReplica> {
    let replica: SimReplica | undefined;
    const assembly = await BrokerAssembly.open(assemblyOptions(env, () => replica));
    replica = SimReplica.opened(env, assembly);
    return replica;
  }

  /**
   * After a write failed with ENOSPC: production's reopen (disk-full-reopen.ts) of `failed`'s assembly in the same
   * process. `nextEnv` gives the environment of the reopened one, once `failed` has stopped (its syncs are over).
   */
  static async reopen(failed: SimReplica, nextEnv: () => ReplicaEnv): Promise<SimReplica> {
    let replica: SimReplica | undefined;
    let env: ReplicaEnv | undefined;
    const assembly = await reopenAfterDiskFull(failed.assembly, () => {
      env = nextEnv();
      return assemblyOptions(env, () => replica);
    });
    replica = SimReplica.opened(env as ReplicaEnv, assembly);
    return replica;
  }

  private static opened(env: ReplicaEnv, assembly: BrokerAssembly): SimReplica {
    const store = assembly.store;
    env.checker.booted(env.id, {
      term: (i) => store.term(i),
      snapshotIndex: store.snapshot()?.meta.index ?? 0,
      damagedUntil: store.damage?.untilIndex ?? 0,
      bootCommit: assembly.bootCommit,
    });
    return new SimReplica(env, assembly);
  }

  private constructor(
    private readonly env: ReplicaEnv,
    readonly assembly: BrokerAssembly,
  ) {
    this.verifyRetained();
  }

  /** The leader's snapshot replaced the state: every retained message is read back again. */
  installed(): void {
    this.checked.clear();
  }

  get driver(): RaftDriver {
    return this.assembly.driver;
  }

  get broker(): ReplicatedBroker {
    return this.assembly.broker;
  }

  get store(): LogStore {
    return this.assembly.store;
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

  private readEntry(index: number): Uint8Array | undefined {
    return this.assembly.readEntry(index);
  }

  /**
   * Reads every retained message not yet checked back from the log, as a subscriber would, and
   * hands it to the checker: the log must still hold it, and it must agree with every other node.
   */
  verifyRetained(): void {
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
        this.env.checker.holds(this.env.id, topic, at.offset, utf8.decode(m.data), at);
      }
      this.checked.set(topic, info.nextOffset);
    }
  }
}
