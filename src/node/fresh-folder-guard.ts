/**
 * A broker that starts on an empty data folder may be one that ran before and lost its folder (a replaced disk, a
 * deleted folder, another working directory). Such a broker has forgotten the entries it acknowledged and the votes it
 * cast; if it voted at once, a candidate without an entry it had helped commit could win with its vote, and that entry
 * would be lost. So before its first vote, a broker on an empty folder asks the cluster: if the cluster already ran an
 * election (a term of 2 or more), the broker takes the highest term and the longest log a majority of the other voters
 * report, and withholds its vote until it holds that log (the repair's damage marker, docs/storage.md).
 */
import { MqraftError } from "../util/errors.ts";
import type { Logger } from "../util/log.ts";

/** The members of a cluster as `mqraft status` shows them; term and lastIndex null for a member that did not answer. */
export interface MembersView {
  nodes: readonly { id: number; voter: boolean; term: number | null; lastIndex: number | null }[];
}

/** What a majority of the other voters of a running cluster reported: the log to catch up with before voting. */
export interface RunningCluster {
  /** The highest term they answered with: no vote below it, and an entry of a later term ends the wait early. */
  term: number;
  /** The longest log among them: it holds every entry committed with an acknowledgement of the lost folder. */
  untilIndex: number;
  /** Who answered, for the log. */
  answered: number[];
}

/** A cluster that never elected a leader is at term 1 at most: its founders' folders hold only the founding entries. */
const FIRST_ELECTION_TERM = 2;
const ASK_TIMEOUT_MS = 3_000;

/**
 * Judges what `status` (the cluster's answer to this broker's question, undefined when no one answered) says of a
 * broker on an empty folder. Undefined: a first start (no answer, no election yet) or this broker is no voter.
 * REFUSED when the cluster ran but fewer than a majority of its other voters answered: their terms and logs are
 * needed to know what this broker may have held.
 */
export function runningCluster(self: number, status: MembersView | undefined, log: Logger): RunningCluster | undefined {
  if (status === undefined) return undefined;
  const terms = status.nodes.map((n) => n.term ?? 0);
  if (Math.max(0, ...terms) < FIRST_ELECTION_TERM) return undefined;
  // Only a voter's lost votes and acknowledgements count; a learner or a new member catches up before it votes.
  if (!status.nodes.some((n) => n.voter && n.id === self)) return undefined;
  const others = status.nodes.filter((n) => n.voter && n.id !== self);
  const majority = Math.floor((others.length + 1) / 2) + 1;
  const answered = others.filter((n) => n.term !== null && n.lastIndex !== null);
  if (answered.length < majority) {
    throw new MqraftError(
      "REFUSED",
      `this broker's data folder is empty, but the cluster already runs (term ${Math.max(...terms)}) and only ${answered.length} of its ${others.length} other voters answered, where ${majority} are needed to learn what node ${self} may have held before; start it again once they are up (docs/storage.md, "An empty data folder")`,
    );
  }
  const found: RunningCluster = {
    term: Math.max(...answered.map((n) => n.term ?? 0)),
    untilIndex: Math.max(...answered.map((n) => n.lastIndex ?? 0)),
    answered: answered.map((n) => n.id),
  };
  log.warn(
    `The data folder is empty but the cluster already runs (voters ${found.answered.join(", ")} answered: term ${found.term}, log up to ${found.untilIndex}): if this broker ran before, it lost what it held, so it will not vote or lead until it holds that log`,
  );
  return found;
}
