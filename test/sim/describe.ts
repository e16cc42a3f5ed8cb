/** One-line renderings of trace details, made only when a failing run is printed. */
import type { Entry, Message } from "../../src/raft/index.ts";

export function describeDetail(detail: unknown): string {
  if (isMessage(detail)) return describeMessage(detail);
  return JSON.stringify(detail, (_key, v: unknown) => (v instanceof Uint8Array ? `<${v.length}B>` : v));
}

function isMessage(x: unknown): x is Message {
  return typeof x === "object" && x !== null && "type" in x && "from" in x && "to" in x && "term" in x;
}

function describeMessage(m: Message): string {
  const head = `${m.type} ${m.from}->${m.to} t${m.term}`;
  switch (m.type) {
    case "append":
      return `${head} prev=(${m.index},t${m.logTerm}) ${describeEntries(m.entries)} commit=${m.commit}`;
    case "appendResponse":
      return m.reject ? `${head} REJECT ${m.index} hint=(${m.hintIndex},t${m.hintTerm})` : `${head} ok ${m.index}`;
    case "heartbeat":
      return `${head} commit=${m.commit}`;
    case "vote":
    case "preVote":
      return `${head} last=(${m.lastIndex},t${m.lastTerm})${m.transfer ? " transfer" : ""}`;
    case "voteResponse":
    case "preVoteResponse":
      return `${head} ${m.reject ? "reject" : "grant"}`;
    case "snapshot":
      return `${head} snap=(${m.meta.index},t${m.meta.term}) bytes ${m.offset}+${m.data.length}${m.done ? " done" : ""}`;
    case "snapshotResponse":
      return `${head} snap=${m.index} offset=${m.offset}`;
    case "heartbeatResponse":
    case "timeoutNow":
      return head;
  }
}

function describeEntries(entries: readonly Entry[]): string {
  const first = entries[0];
  const last = entries.at(-1);
  if (first === undefined || last === undefined) return "[]";
  return `[${first.index}..${last.index} t${first.term}${first.term === last.term ? "" : `..t${last.term}`}]`;
}
