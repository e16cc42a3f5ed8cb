/**
 * A broker that starts on an empty data folder may be one that ran before and lost its folder (a replaced disk, a
 * deleted folder, another working directory). Such a broker has forgotten the entries it acknowledged and the votes it
 * cast; if it voted at once, a candidate without an entry it had helped commit could win with its vote, and that entry
 * would be lost. So before its first vote, a broker on an empty folder asks the cluster: if the cluster already ran an
 * election (a term of 2 or more), the broker takes the highest term the other voters report (how many must answer:
 * `answersNeeded`), and
 * withholds its vote until it holds the most up-to-date log among theirs (the repair's damage marker,
 * docs/storage.md).
 */
import { MqraftError } from "../util/errors.ts";
import type { Logger } from "../util/log.ts";

/** The members of a cluster as `mqraft status` shows them; term and lastIndex null for a member that did not answer. */
export interface MembersView {
  nodes: readonly {
    id: number;
    voter: boolean;
    /** As the member says of itself ("leader" only from the leader's own answer). */
    role?: string;
    term: number | null;
    lastIndex: number | null;
    /** The term of its last entry; null or absent from brokers that do not say. */
    lastTerm?: number | null;
  }[];
}

/** What the other voters of a running cluster reported: the log to catch up with before voting. */
export interface RunningCluster {
  /** The highest term they answered with: this broker votes in no term at or below it. */
  term: number;
  /**
   * The end of the most up-to-date log among theirs (5.4.1 order; the longest when a broker does not say its last
   * term): it holds every entry committed with an acknowledgement of the lost folder.
   */
  untilIndex: number;
  /**
   * That log's last term: a candidate at least as up to date as (floorTerm, untilIndex) holds it all, and an entry of
   * a later term ends the wait early. Not the highest term: terms rise in elections that write nothing, and a floor
   * above every log's last term would refuse every candidate (the repair's floor has the same reason, 4b8be32).
   */
  floorTerm: number;
  /** Who answered, for the log. */
  answered: number[];
}

/** A cluster that never elected a leader is at term 1 at most: its founders' folders hold only the founding entries. */
const FIRST_ELECTION_TERM = 2;

/**
 * Judges what `status` (the cluster's answer to this broker's question, undefined when no one answered) says of a
 * broker on an empty folder. Undefined: a first start (no answer, no election yet) or this broker is no voter.
 * REFUSED when the cluster ran but fewer of its other voters answered than `answersNeeded`: their terms and logs are
 * needed to know what this broker may have held.
 */
export function runningCluster(self: number, status: MembersView | undefined, log: Logger): RunningCluster | undefined {
  if (status === undefined) return undefined;
  const terms = status.nodes.map((n) => n.term ?? 0);
  if (Math.max(0, ...terms) < FIRST_ELECTION_TERM) return undefined;
  // Only a voter's lost votes and acknowledgements count; a learner or a new member catches up before it votes.
  if (!status.nodes.some((n) => n.voter && n.id === self)) return undefined;
  const others = status.nodes.filter((n) => n.voter && n.id !== self);
  const majority = answersNeeded(others.length + 1);
  const answered = others.filter((n) => n.term !== null && n.lastIndex !== null);
  if (answered.length < majority) {
    throw new MqraftError(
      "REFUSED",
      `this broker's data folder is empty, but the cluster already runs (term ${Math.max(...terms)}) and only ${answered.length} of its ${others.length} other voters answered, where ${majority} are needed to learn what node ${self} may have held before; start it again once they are up (docs/storage.md, "An empty data folder")`,
    );
  }
  const term = Math.max(...answered.map((n) => n.term ?? 0));
  // A leader keeps the match of this broker's lost folder (Raft never lowers a match) and may still count it to commit
  // entries up to it; only its own answer bounds them. Every voter answering and none leading: no leader now, and a
  // later one starts from no match.
  const leads = answered.some((n) => n.role === "leader" && n.term === term);
  if (!leads && answered.length < others.length) {
    throw new MqraftError(
      "REFUSED",
      `this broker's data folder is empty, but the cluster already runs (term ${term}) and no leader of that term answered (${answered.length} of its ${others.length} other voters did): a leader may still count what node ${self} acknowledged before it lost its folder; start it again once the cluster has a leader (docs/storage.md, "An empty data folder")`,
    );
  }
  const best = mostUpToDate(answered);
  const found: RunningCluster = {
    term,
    untilIndex: best?.index ?? Math.max(...answered.map((n) => n.lastIndex ?? 0)),
    floorTerm: best?.term ?? term,
    answered: answered.map((n) => n.id),
  };
  log.warn(
    `The data folder is empty but the cluster already runs (voters ${found.answered.join(", ")} answered: term ${found.term}, log up to ${found.untilIndex}): if this broker ran before, it lost what it held, so it will not vote or lead until it holds that log`,
  );
  return found;
}

/**
 * How many of the other voters of a cluster of `voters` must answer. Entries: every quorum the lost folder was part of
 * holds at least a majority of the others, so that many answers hold every entry it helped commit. Votes: with an odd
 * number of voters, two quorums that share only the lost folder exist (2 of 5 and 2 more of 5, with it), so the
 * candidate it voted for in its last term may be the only one to know that term (its requests to the others not yet
 * delivered), and every other voter must answer; with an even number, any two quorums share another member, and a
 * second leader in that term would need that member's vote twice.
 */
export function answersNeeded(voters: number): number {
  const others = voters - 1;
  // a lone voter has no one to ask: it cannot learn what it held
  return voters % 2 === 1 ? Math.max(1, others) : Math.floor(others / 2) + 1;
}

/** The last entry of the most up-to-date log (§5.4.1: the later last term, then the longer), if every one says its term. */
function mostUpToDate(
  answered: readonly { lastIndex: number | null; lastTerm?: number | null }[],
): { term: number; index: number } | undefined {
  let best: { term: number; index: number } | undefined;
  for (const n of answered) {
    if (n.lastTerm === undefined || n.lastTerm === null || n.lastIndex === null) return undefined;
    if (best === undefined || n.lastTerm > best.term || (n.lastTerm === best.term && n.lastIndex > best.index))
      best = { term: n.lastTerm, index: n.lastIndex };
  }
  return best;
}
