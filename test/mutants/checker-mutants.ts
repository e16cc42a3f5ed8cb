/**
 * Each check of each checker turned off, one at a time: a checker is code too, and its unit tests (which feed it one
 * defect each) must fail when one of its checks is gone.
 */
import type { Mutant } from "./mutants.ts";

const bunTest = (file: string, name?: string): string[] =>
  name === undefined ? ["test", file, "--timeout", "120000"] : ["test", file, "-t", name, "--timeout", "120000"];

/** Turns off the check guarded by `condition` (an `if (` or `else if (` text that must occur once in `file`). */
function off(name: string, breaks: string, file: string, condition: string, test: string[]): Mutant {
  const parts = condition.match(/^(\s*(?:\} )?(?:else )?if \()(.*)\)( \{)?$/s);
  if (parts === null) throw new Error(`mutant ${name}: "${condition}" is not "if (...)" or "else if (...)"`);
  const [, head, test_, brace] = parts;
  return {
    name,
    breaks: `checker: ${breaks}`,
    file,
    find: condition,
    replace: `${head}false && (${test_}))${brace ?? ""}`,
    test,
  };
}

const CHAOS = "test/chaos/checker.ts";
const chaosTest = bunTest("test/chaos/checker.test.ts");
const RAFT = "test/sim/raft-checker.ts";
const simTest = bunTest("test/sim/checker.test.ts");
const simCheckerTest = bunTest("test/sim/sim.test.ts", "checker");
const DRIVER = "test/sim/driver/broker-checker.ts";
const driverTest = bunTest("test/sim/driver/broker-checker.test.ts");
const restartTest = bunTest("test/sim/driver/driver-sim.test.ts", "restart and acknowledgement checks");
const PRODUCER = "test/sim/driver/producer-checker.ts";
const producerTest = bunTest("test/sim/driver/producer-checker.test.ts");

export const CHECKER_MUTANTS: readonly Mutant[] = [
  // the chaos checker (a real cluster's history)
  off(
    "chaos-lost",
    "an acknowledged value absent from the drains",
    CHAOS,
    'if (p.outcome === "ok" && stored === undefined)',
    chaosTest,
  ),
  off(
    "chaos-moved",
    "an acknowledged value drained at another offset",
    CHAOS,
    'if (p.outcome === "ok" && stored !== undefined && stored !== p.ackedOffset)',
    chaosTest,
  ),
  off(
    "chaos-phantom-failed",
    "a value whose publish failed, drained",
    CHAOS,
    'if (p.outcome === "fail" && stored !== undefined)',
    chaosTest,
  ),
  off(
    "chaos-phantom-unpublished",
    "a drained value nobody published",
    CHAOS,
    "if (!publishes.has(key(topic, value)))",
    chaosTest,
  ),
  off(
    "chaos-realtime-order",
    "a value stored below an offset acknowledged before it was invoked",
    CHAOS,
    "if (offset !== undefined && offset <= p.floor)",
    chaosTest,
  ),
  off("chaos-offset-hole", "a hole in a broker's offsets", CHAOS, "if (hole >= 0)", chaosTest),
  off(
    "chaos-divergent",
    "brokers holding different sequences",
    CHAOS,
    "if (differs >= 0 || d.messages.length !== reference.messages.length) {",
    chaosTest,
  ),
  off(
    "chaos-duplicate-in-drains",
    "one value stored at two offsets",
    CHAOS,
    "if (seen !== undefined && seen !== m.offset && !reported.has(pair)) {",
    chaosTest,
  ),
  off("chaos-no-drain", "a history with nothing to check for loss", CHAOS, "if (drains.length === 0)", chaosTest),
  {
    name: "chaos-sequential-order",
    breaks: "checker: a sequential writer's values out of order",
    file: CHAOS,
    find: "if (last !== undefined && offset <= last.offset)",
    replace: "if (last !== undefined && offset <= last.offset && !p.sequential)",
    test: chaosTest,
  },
  {
    name: "chaos-producer-order",
    breaks: "checker: a pipelined writer's values out of order",
    file: CHAOS,
    find: "if (last !== undefined && offset <= last.offset)",
    replace: "if (last !== undefined && offset <= last.offset && p.sequential)",
    test: chaosTest,
  },
  off("chaos-two-values-at-offset", "two values seen at one offset", CHAOS, "else if (seen !== value)", chaosTest),
  off(
    "chaos-subscriber-resume-gap",
    "a subscriber resuming past what it read",
    CHAOS,
    "if (expected !== undefined && line.from !== expected)",
    chaosTest,
  ),
  off(
    "chaos-subscriber-read-gap",
    "a subscriber reading out of sequence",
    CHAOS,
    "if (expected !== undefined && line.offset !== expected)",
    chaosTest,
  ),
  off(
    "chaos-never-available",
    "no publish acknowledged after the heal",
    CHAOS,
    "if (firstOk === undefined)",
    chaosTest,
  ),
  off(
    "chaos-slow-recovery",
    "the first publish after the heal past the bound",
    CHAOS,
    "else if (firstOk.time - heal.time > options.recoveryBoundMs)",
    chaosTest,
  ),
  off(
    "chaos-durable-rewind",
    "a durable subscription resumed before a confirmed ack",
    CHAOS,
    "if (line.position < low)",
    chaosTest,
  ),
  off(
    "chaos-durable-skip",
    "a durable subscription resumed past an unacked message",
    CHAOS,
    "if (line.position > high)",
    chaosTest,
  ),

  // the Raft checker both simulation levels share (test/sim/raft-checker.ts)
  off("raft-election-safety", "two leaders in one term", RAFT, "} else if (holder !== id) {", simTest),
  off("raft-commit-monotonic", "a commit index going back", RAFT, "if (commit < m.commit)", simTest),
  off("raft-applied-monotonic", "an applied index going back", RAFT, "if (applied < m.applied)", simTest),
  off("raft-committed-term", "one index committed at two terms", RAFT, "else if (known !== t)", simTest),
  {
    name: "raft-leader-completeness",
    breaks: "checker: a leader without a committed entry",
    file: RAFT,
    find: "    if (held === term || (held === undefined && index < raft.status().firstIndex)) return;",
    replace: "    return;",
    test: simTest,
  },
  off(
    "raft-restart-below-commit",
    "a restart below the persisted commit index",
    RAFT,
    "if (raft.commitIndex < m.persistedCommit)",
    simTest,
  ),
  {
    name: "raft-durable-majority",
    breaks: "checker: an entry committed while on the disk of a minority",
    file: RAFT,
    find: "    if (candidates.some((m) => holders(m.voters).length * 2 > m.voters.length)) return;",
    replace: "    return;",
    test: simTest,
  },
  off(
    "raft-committed-entry-kept",
    "a running node whose log drops a committed entry it held",
    RAFT,
    "    if (last < m.heldCommitted)",
    simTest,
  ),
  off("raft-one-vote-sent", "two votes sent in one term", RAFT, "else if (before !== candidate)", simCheckerTest),
  off(
    "raft-one-vote-persisted",
    "a vote changed on disk within a term",
    RAFT,
    "if (hs.term === m.persistedTerm && m.persistedVote !== 0 && hs.vote !== m.persistedVote) {",
    simCheckerTest,
  ),
  off("raft-term-monotonic", "a term going back on disk", RAFT, "if (hs.term < m.persistedTerm)", simCheckerTest),
  off("raft-log-matching", "two entries at one (index, term)", RAFT, "if (seen.data !== data)", simCheckerTest),
  off("raft-state-agreement", "two states at one index", RAFT, "else if (before !== digest)", simCheckerTest),
  off(
    "raft-vote-durability",
    "a vote sent and lost in a crash",
    RAFT,
    "if (hs.term < m.votedTerm || (hs.term === m.votedTerm && hs.vote !== m.votedFor)) {",
    driverTest,
  ),
  off("raft-apply-order", "entries applied out of order", RAFT, "if (e.index !== last + 1)", driverTest),
  off(
    "raft-configuration-kept",
    "a restarted node in force with an older configuration than before its crash",
    RAFT,
    "if (raft.membershipIndex < m.configAtCrash)",
    restartTest,
  ),
  {
    name: "raft-acknowledged-entry-kept",
    breaks: "checker: a restart without the last entry it acknowledged, and no damage marker",
    file: RAFT,
    find: "    if (log.damagedUntil >= m.ackIndex) return;",
    replace: "    return;",
    test: restartTest,
  },

  // the driver simulation's broker checks
  off("driver-message-agreement", "two messages at one offset", DRIVER, "      if (known !== text)", driverTest),
  off(
    "driver-ack-overwritten",
    "an acknowledged offset holding another message",
    DRIVER,
    "if (promised !== undefined && promised !== text) {",
    driverTest,
  ),
  off(
    "driver-ack-moved",
    "an acknowledged publish stored at another offset",
    DRIVER,
    "if (ack !== undefined && (ack.topic !== topic || ack.offset !== offset)) {",
    driverTest,
  ),
  off("driver-stored-once", "one publish stored twice", DRIVER, "if (first !== undefined)", driverTest),
  off(
    "driver-acked-twice",
    "one publish acknowledged at two offsets",
    DRIVER,
    "if (before.topic !== topic || before.offset !== offset) {",
    driverTest,
  ),
  off(
    "driver-ack-of-other-message",
    "an acknowledgement at an offset holding another message",
    DRIVER,
    "if (held !== undefined && held !== text)",
    driverTest,
  ),
  off(
    "driver-ack-where-not-stored",
    "an acknowledgement elsewhere than where the publish is stored",
    DRIVER,
    "if (stored !== undefined && (stored.topic !== topic || stored.offset !== offset)) {",
    driverTest,
  ),
  off(
    "producer-order-before",
    "a producer's seq stored before a lower seq of the same incarnation",
    PRODUCER,
    "if (before >= 0 && (inc.positions[before] as number) > position)",
    producerTest,
  ),
  off(
    "producer-order-after",
    "a producer's seq stored after a higher seq of the same incarnation",
    PRODUCER,
    "if (i < inc.seqs.length && (inc.positions[i] as number) < position)",
    producerTest,
  ),
  off(
    "producer-no-duplicate",
    "one seq of one incarnation stored at two places",
    PRODUCER,
    "if (inc.places[i] !== place)",
    producerTest,
  ),
  off(
    "producer-fenced-stored",
    "an old incarnation's message stored after a later one registered",
    PRODUCER,
    "if (later > id.incarnation && at.index >= epoch)",
    producerTest,
  ),
  off(
    "producer-fenced-registered",
    "a registration below an old incarnation's stored message",
    PRODUCER,
    "if (earlier < incarnation && inc.lastIndex >= epoch)",
    producerTest,
  ),
  off(
    "connection-order-before",
    "a connection's publish stored before one that arrived earlier on it",
    "test/sim/driver/connection-order.ts",
    "if (before >= 0 && (s.offsets[before] as number) > offset)",
    producerTest,
  ),
  off(
    "connection-order-after",
    "a connection's publish stored after one that arrived later on it",
    "test/sim/driver/connection-order.ts",
    "if (i < s.arrivals.length && (s.offsets[i] as number) < offset)",
    producerTest,
  ),
  off(
    "sim-acknowledgement-agreement",
    "an acknowledgement of an entry the leader holds at another term",
    "test/sim/acknowledgements.ts",
    "if (own !== undefined && leaderTerm !== undefined && own !== leaderTerm)",
    restartTest,
  ),
];
