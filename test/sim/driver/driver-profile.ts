/** The mix of faults, settings and client activity one driver-level seed runs with, drawn from that seed. */
import type { Retention } from "../../../src/broker/commands.ts";
import type { Prng } from "../../../src/util/prng.ts";
import type { NetworkFaults } from "../network.ts";

export interface DriverProfile {
  nodes: number;
  network: NetworkFaults;
  /** Per-tick probabilities of a fault starting. */
  crash: number;
  /** A power loss of the leader with entries written and not yet synced (test/sim/fault-injector.ts). */
  unsyncedCrash: number;
  /** One machine down for a long stretch, so the others compact past it and it must install a snapshot. */
  outage: boolean;
  partition: number;
  /** Per-tick chance that the operator takes one step of membership changes (join a spare, promote, remove). */
  membership: number;
  /** Per-tick chance of a leadership transfer. */
  transfer: number;
  /** Per-tick chance that a machine that is down has a byte of a log segment damaged (at most one at a time). */
  damage: number;
  /** Per-tick chance that another process fills a running machine's disk, freed again later (fault-injector.ts). */
  diskFull: number;
  /** Per-tick chance that a process is killed, its page cache kept, maybe followed by a power loss (fault-injector.ts). */
  kill: number;
  /** A node's process freezes (no ticks, no messages, no I/O completions handled) for a while. */
  pause: number;
  /** Time units an fdatasync or folder sync takes: [min, max], and the chance of a much slower one. */
  syncDelay: readonly [number, number];
  slowSync: number;
  /** Wanted retention (the leader proposes it as a config command); empty means keep everything. */
  retention: Retention;
  /** Applied entries between two snapshots, and the log segment size: small so compaction happens. */
  snapshotEvery: number;
  segmentBytes: number;
  /** Raft settings: production's by default, small limits in some runs so messages and snapshots split. */
  maxMsgBytes: number | undefined;
  maxSnapshotChunk: number | undefined;
  maxInflight: number | undefined;
  /** Per-node clock offset range (ms): leaders stamp commands with their own clock. */
  clockSkew: number;
  clients: number;
  /** Per client and tick: how many new messages on average; and how many may be in flight at once. */
  publish: number;
  window: number;
  /** Largest filler after a message's identity, in bytes. */
  payload: number;
}

export function drawDriverProfile(prng: Prng, nodes: number | undefined): DriverProfile {
  return {
    nodes: nodes ?? prng.pick([3, 3, 3, 5]),
    network: drawNetwork(prng),
    crash: prng.pick([0, 0.01, 0.02, 0.04]),
    outage: prng.chance(0.5),
    partition: prng.pick([0, 0.01, 0.03]),
    membership: prng.pick([0, 0.03, 0.08]),
    transfer: prng.pick([0, 0, 0.01, 0.03]),
    damage: prng.pick([0, 0, 0.02, 0.05]),
    pause: prng.pick([0, 0, 0.01]),
    syncDelay: prng.pick([
      [0, 2],
      [1, 10],
      [5, 60],
    ] as const),
    slowSync: prng.pick([0, 0, 0.01, 0.05]),
    retention: drawRetention(prng),
    snapshotEvery: prng.pick([4, 10, 30]),
    segmentBytes: prng.pick([256, 512, 1024, 4096]),
    maxMsgBytes: prng.pick([undefined, undefined, 200, 2000]),
    maxSnapshotChunk: prng.pick([undefined, undefined, 2000, 16_000]),
    maxInflight: prng.pick([undefined, undefined, 2]),
    clockSkew: prng.pick([0, 50, 2000]),
    clients: prng.int(1, 4),
    publish: prng.pick([0.2, 0.5, 1, 3]),
    window: prng.int(1, 4),
    payload: prng.pick([8, 100, 600]),
    // drawn last, so that the draws above stay what they were for every seed
    unsyncedCrash: prng.pick([0, 0.01, 0.03]),
    diskFull: prng.pick([0, 0, 0.01, 0.03]),
    kill: prng.pick([0, 0, 0.01, 0.03]),
  };
}

/**
 * Brokers talk over TCP: per link, messages arrive in order and never twice (loss stands for a broken connection).
 * Production keeps appends and snapshot chunks on a connection of their own (src/node/peer-network.ts), so a
 * heartbeat or a vote may overtake an append there; the reordering runs below cover that. Some runs use a datagram-like network instead, with
 * reordering and duplicates, which the core is meant to survive as well.
 */
function drawNetwork(prng: Prng): NetworkFaults {
  const loss = prng.pick([0, 0.01, 0.05, 0.1]);
  const duplicate = prng.pick([0, 0.02, 0.1]);
  const jitter = prng.pick([20, 100, 300]);
  return prng.chance(0.7) ? { loss, duplicate: 0, jitter: 0 } : { loss, duplicate, jitter };
}

function drawRetention(prng: Prng): Retention {
  switch (prng.int(0, 4)) {
    case 0:
    case 1:
      return { maxMessages: prng.int(1, 8) };
    case 2:
      return { maxBytes: prng.int(200, 3000) };
    case 3:
      return { maxAgeMs: prng.int(500, 5000) };
    default:
      return {};
  }
}
