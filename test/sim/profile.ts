/** The mix of faults and client activity one seed runs with, drawn from that seed. */
import type { Prng } from "../../src/util/prng.ts";
import type { NetworkFaults } from "./network.ts";

export interface Profile {
  nodes: number;
  /** Raft's optional protections, off in some runs so that the core is also checked without them. */
  preVote: boolean;
  checkQuorum: boolean;
  network: NetworkFaults;
  /** Probability that applying a batch of committed entries stalls for 1 to 10 ticks. */
  applyStall: number;
  /** Per-tick probabilities. */
  partition: number;
  crash: number;
  /** A power loss of the leader with entries written and not yet synced (test/sim/fault-injector.ts). */
  unsyncedCrash: number;
  /** One node down for a long stretch. */
  outage: boolean;
  /** A down node's log is damaged and repaired at its next start (test/sim/sim-node.ts). */
  damage: number;
  /** A node freezes for up to 30 ticks, then resumes with its memory intact. */
  pause: number;
  propose: number;
  confChange: number;
  transfer: number;
  compact: number;
}

export function drawProfile(prng: Prng, nodes: number | undefined): Profile {
  return {
    nodes: nodes ?? prng.pick([3, 3, 5, 5, 7]),
    preVote: prng.chance(0.8),
    checkQuorum: prng.chance(0.8),
    network: {
      loss: prng.pick([0, 0.01, 0.05, 0.1, 0.2]),
      duplicate: prng.pick([0, 0, 0.02, 0.1]),
      jitter: prng.pick([0, 20, 100, 300]),
    },
    applyStall: prng.pick([0, 0, 0.02, 0.1]),
    partition: prng.pick([0, 0.01, 0.03, 0.06]),
    crash: prng.pick([0, 0.005, 0.02, 0.05]),
    pause: prng.pick([0, 0, 0.01, 0.03]),
    propose: prng.pick([0.2, 0.5, 1]),
    confChange: prng.pick([0, 0.03, 0.1]),
    transfer: prng.pick([0, 0.01, 0.03]),
    compact: prng.pick([0, 0.02, 0.1]),
    // drawn last, so that the draws above stay what they were for every seed
    unsyncedCrash: prng.pick([0, 0.01, 0.03]),
    outage: prng.chance(0.3),
    // drawn after the others, so that they stay what they were for every seed
    damage: prng.pick([0, 0, 0.01, 0.03]),
  };
}
