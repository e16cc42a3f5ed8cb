/** Step for the leader: acknowledgements drive replication, commit and leadership transfer. */
import type { AppendResponse, Message } from "./messages.ts";
import type { Progress } from "./progress.ts";
import type { RaftState } from "./raft-state.ts";
import { maybeCommit, sendAppends, sendFarewell, sendSnapshotChunk, sendTimeoutNow } from "./replication.ts";

export function stepLeader(r: RaftState, m: Message): void {
  const pr = r.progress.get(m.from);
  if (pr === undefined) {
    // A removed node acknowledged entries after the leader dropped it (its acknowledgement of its own
    // removal came after the majority's): say farewell again, with the commit it can now reach.
    if (m.type === "appendResponse" && !m.reject) sendFarewell(r, m.from, m.index);
    return;
  }
  switch (m.type) {
    case "appendResponse":
      pr.lastHeard = r.ticks;
      handleAppendResponse(r, m, pr);
      return;
    case "heartbeatResponse":
      pr.lastHeard = r.ticks;
      handleHeartbeatResponse(r, m.from, pr);
      return;
    case "snapshotResponse":
      pr.lastHeard = r.ticks;
      // An answer the leader acted on already (to a chunk sent again, which crossed its first copy) sends nothing:
      // else every copy would start a chain of chunks and answers of its own, each as long as the transfer.
      if (pr.state === "snapshot" && m.index === pr.pendingSnapshot && m.offset !== pr.snapshotOffset) {
        // Karn's rule: the answer to a chunk sent more than once may be to any copy, so it measures nothing (timed
        // from the first copy, it measured a partition, and held the next lost chunk back for twice that: core
        // simulation seed 5038, 58 ticks); the estimate backed off at each resend stands instead.
        if (pr.snapshotResentAt === pr.snapshotSentAt) pr.snapshotRoundTrip = r.ticks - pr.snapshotSentAt;
        pr.snapshotOffset = m.offset;
        pr.snapshotSentAt = r.ticks;
        sendSnapshotChunk(r, m.from, pr);
      }
      return;
    case "append":
    case "heartbeat":
    case "snapshot":
    case "timeoutNow":
    case "vote":
    case "preVote":
    case "voteResponse":
    case "preVoteResponse":
      return;
  }
}

function handleAppendResponse(r: RaftState, m: AppendResponse, pr: Progress): void {
  if (m.reject) {
    handleRejection(r, m, pr);
    return;
  }
  if (!pr.maybeUpdate(m.index)) return;
  switch (pr.state) {
    case "probe":
      pr.becomeReplicate();
      break;
    case "snapshot":
      if (pr.match + 1 >= r.log.firstIndex()) pr.becomeReplicate();
      break;
    case "replicate":
      pr.inflights.freeLE(m.index);
      break;
  }
  maybeCommit(r);
  sendAppends(r, m.from, pr, false);
  if (m.from === r.leadTransferee && pr.match === r.log.lastIndex()) sendTimeoutNow(r, m.from);
}

/**
 * A rejection says where the follower's log ended when the rejected append reached it. On a network that reorders,
 * that may be an append overtaken by a later one, or one sent before the leader last stepped back: acting on each
 * such rejection sends the whole window again, whose own overtaken appends are rejected in turn, and the messages
 * multiply without bound. So in replicate state the leader steps back at most once per heartbeat round trip; a
 * lost append is still found by the next rejection after it (or the heartbeat's empty append), one round trip later.
 */
function handleRejection(r: RaftState, m: AppendResponse, pr: Progress): void {
  if (pr.state === "replicate") {
    if (m.index <= pr.match && !reportsShortenedLog(m, pr)) return; // answers an append older than an acknowledgement
    if (r.ticks - pr.backtrackedAt < 2 * r.cfg.heartbeatTicks) return;
    pr.backtrackedAt = r.ticks;
  } else if (m.index !== pr.next - 1 && !reportsShortenedLog(m, pr)) {
    return; // probe: the answer to an append other than the outstanding one
  }
  if (m.hintIndex < pr.match && (reportsShortenedLog(m, pr) || pr.state === "probe")) {
    // The follower holds less than it once acknowledged (a log cut by a repair after corruption): lowering match is
    // safe (commit never moves back) and lets replication refill it.
    pr.match = m.hintIndex;
    pr.becomeProbe();
    sendAppends(r, m.from, pr, true);
    return;
  }
  const hint = m.hintTerm > 0 ? r.log.findConflictByTerm(m.hintIndex, m.hintTerm)[0] : m.hintIndex;
  if (pr.maybeDecrTo(m.index, hint)) {
    if (pr.state === "replicate") pr.becomeProbe();
    sendAppends(r, m.from, pr, true);
  }
}

/**
 * A follower answers a heartbeat whose commit index is beyond its log with a rejection without a term hint
 * (step-follower.ts): its log was cut below what it acknowledged. An append's rejection carries the term of its hint
 * whenever the hint is above 0.
 */
function reportsShortenedLog(m: AppendResponse, pr: Progress): boolean {
  return m.hintTerm === 0 && m.hintIndex < pr.match;
}

function handleHeartbeatResponse(r: RaftState, from: number, pr: Progress): void {
  pr.probeSent = false;
  switch (pr.state) {
    case "snapshot":
      // Chunks and their answers may be lost; resume from what the follower acknowledged once the answer is overdue
      // (twice the last chunk's round trip, at least an election timeout). Not at every heartbeat: on a link where a
      // chunk takes longer than a heartbeat to cross, the copies would queue behind the chunk they repeat, and the
      // next chunk behind them, until the link carries nothing but copies.
      if (r.ticks - pr.snapshotResentAt >= Math.max(r.cfg.electionTicks, 2 * pr.snapshotRoundTrip)) {
        // The next copy of the same chunk waits twice as long (Karn's backoff), up to four election timeouts.
        const backedOff = Math.max(
          pr.snapshotRoundTrip,
          Math.min(r.ticks - pr.snapshotResentAt, 2 * r.cfg.electionTicks),
        );
        const pending = pr.pendingSnapshot;
        sendSnapshotChunk(r, from, pr);
        if (pr.pendingSnapshot === pending) pr.snapshotRoundTrip = backedOff;
      }
      return;
    case "replicate":
      // Lost appends never free their window slots; free one so the follower can be probed.
      if (pr.inflights.full()) pr.inflights.freeFirst();
      break;
    case "probe":
      break;
  }
  if (pr.match < r.log.lastIndex()) sendAppends(r, from, pr, true);
}
