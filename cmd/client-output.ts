import type { ClusterStatus, PublishResult, ReceivedMessage } from "../src/client/index.ts";

/** What `pub`, `sub` and `status` print: the `--json` shapes of docs/design.md, or lines a person reads easily. */

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The payload as text, or undefined if it is not valid UTF-8. */
export function asText(data: Uint8Array): string | undefined {
  try {
    return utf8.decode(data);
  } catch {
    return undefined;
  }
}

export function publishedLine(result: PublishResult, json: boolean): string {
  return json
    ? JSON.stringify({ topic: result.topic, offset: result.offset })
    : `published ${result.topic} #${result.offset}`;
}

export function messageLine(message: ReceivedMessage, json: boolean): string {
  const text = asText(message.data);
  if (json) {
    const payload = text === undefined ? { data_b64: message.data.toBase64() } : { data: text };
    return JSON.stringify({ topic: message.topic, offset: message.offset, ...payload });
  }
  const shown = text ?? `<${message.data.length} bytes, not UTF-8; base64 ${message.data.toBase64()}>`;
  return `${message.topic} #${message.offset}  ${shown}`;
}

export function statusJson(status: ClusterStatus): string {
  const nodes = status.nodes.map((n) => ({
    id: n.id,
    address: n.address,
    role: n.role,
    voter: n.voter,
    reachable: n.reachable,
    term: n.term,
    commitIndex: n.commitIndex,
    lastApplied: n.lastApplied,
  }));
  return JSON.stringify({ leader: status.leader, term: status.term, nodes });
}

/** A heading, then one row per node; `*` marks the leader, lag is the leader's commit index minus the node's applied index. */
export function statusTable(status: ClusterStatus): string[] {
  const leader = status.nodes.find((n) => n.id === status.leader);
  const heading =
    status.leader === 0
      ? `no leader (term ${status.term})`
      : `leader: node ${status.leader}${leader === undefined ? "" : ` at ${leader.address}`}, term ${status.term}`;
  const yes = (b: boolean): string => (b ? "yes" : "no");
  const rows = [...status.nodes]
    .sort((a, b) => a.id - b.id)
    .map((n) => [
      n.id === status.leader ? "*" : "",
      String(n.id),
      n.address,
      n.role,
      yes(n.voter),
      yes(n.reachable),
      String(n.term),
      String(n.commitIndex),
      String(n.lastApplied),
      leader === undefined || !n.reachable ? "-" : String(Math.max(0, leader.commitIndex - n.lastApplied)),
    ]);
  const table = [["", "ID", "ADDRESS", "ROLE", "VOTER", "REACHABLE", "TERM", "COMMIT", "APPLIED", "LAG"], ...rows];
  const widths = table[0]!.map((_, column) => Math.max(...table.map((row) => row[column]!.length)));
  const lines = table.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join("  ")
      .trimEnd(),
  );
  return [heading, ...lines];
}
