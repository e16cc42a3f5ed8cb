import type { ClusterStatus, PublishResult, ReceivedMessage } from "../src/client/index.ts";
import { displayWidth, padToWidth } from "../src/util/display-width.ts";
import { clearJson, showTopic } from "../src/util/topic-name.ts";

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
    ? clearJson({ topic: result.topic, offset: result.offset })
    : `published ${showTopic(result.topic)} #${result.offset}`;
}

/** A message as `sub` prints it; `time` and `headers` are absent from messages of brokers that do not send them. */
export type PrintedMessage = Pick<ReceivedMessage, "topic" | "offset" | "data"> &
  Partial<Pick<ReceivedMessage, "time" | "headers">>;

/**
 * One message: `--json` gives topic, offset, time (RFC 3339 with milliseconds, UTC), headers (when it has any) and
 * data; plain output `topic #offset  text`, followed with `showHeaders` by one `  key: value` line per header.
 */
export function messageLine(message: PrintedMessage, json: boolean, showHeaders = false): string {
  const text = asText(message.data);
  const headers = message.headers !== undefined && message.headers.size > 0 ? message.headers : undefined;
  if (json) {
    const payload = text === undefined ? { data_b64: message.data.toBase64() } : { data: text };
    return clearJson({
      topic: message.topic,
      offset: message.offset,
      ...(message.time === undefined ? {} : { time: rfc3339(message.time) }),
      ...(headers === undefined ? {} : { headers: headers.toJSON() }),
      ...payload,
    });
  }
  const shown = text ?? `<${message.data.length} bytes, not UTF-8; base64 ${message.data.toBase64()}>`;
  const line = `${showTopic(message.topic)} #${message.offset}  ${shown}`;
  if (!showHeaders || headers === undefined) return line;
  return [line, ...Array.from(headers, ([key, value]) => `  ${key}: ${value}`)].join("\n");
}

/** `2026-12-06T10:00:00.123Z`: RFC 3339 in UTC, with milliseconds. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString();
}

/** status --json: the ClusterStatus as it is, unknowns as null (the shape is in docs/cli.md). */
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
    lag: lagOf(status, n),
    version: n.version,
    uptimeMs: n.uptimeMs,
    diskBytes: n.diskBytes,
    diskFreeBytes: n.diskFreeBytes,
    diskAlarm: n.diskAlarm,
  }));
  return JSON.stringify({ leader: status.leader, term: status.term, nodes });
}

/** The leader's commit index minus the member's applied index, when both are known. */
function lagOf(status: ClusterStatus, n: ClusterStatus["nodes"][number]): number | null {
  const leader = status.nodes.find((m) => m.id === status.leader);
  if (leader?.commitIndex == null || n.lastApplied === null) return null;
  return Math.max(0, leader.commitIndex - n.lastApplied);
}

/** A heading, then one row per node; `*` marks the leader and `-` what is not known. */
export function statusTable(status: ClusterStatus): string[] {
  const leader = status.nodes.find((n) => n.id === status.leader);
  const heading =
    status.leader === null
      ? `no leader${status.term === null ? "" : ` (highest term seen ${status.term})`}`
      : `leader: node ${status.leader}${leader === undefined ? "" : ` at ${leader.address}`}, term ${status.term ?? "-"}`;
  const rows = [...status.nodes]
    .sort((a, b) => a.id - b.id)
    .map((n) => [
      n.id === status.leader ? "*" : "",
      String(n.id),
      n.address,
      n.role === "unknown" ? "-" : n.role,
      n.voter ? "yes" : "no",
      n.reachable ? "yes" : "no",
      known(n.term),
      known(n.commitIndex),
      known(n.lastApplied),
      known(lagOf(status, n)),
      n.version ?? "-",
      n.uptimeMs === null ? "-" : duration(n.uptimeMs),
      diskCell(n),
    ]);
  const head = ["", "ID", "ADDRESS", "ROLE", "VOTER", "REACHABLE", "TERM", "COMMIT", "APPLIED", "LAG", "VERSION"];
  return [heading, ...table([[...head, "UPTIME", "DISK"], ...rows])];
}

/** Bytes of the data folder, and the disk alarm when it is raised. */
function diskCell(n: ClusterStatus["nodes"][number]): string {
  const used = n.diskBytes === null ? "-" : bytes(n.diskBytes);
  if (n.diskAlarm !== true) return used;
  return `${used} DISK FULL${n.diskFreeBytes === null ? "" : ` (${bytes(n.diskFreeBytes)} free)`}`;
}

const known = (n: number | null): string => (n === null ? "-" : String(n));

/** Columns padded to their widest cell (in terminal columns: CJK takes two), two spaces apart, no trailing spaces. */
export function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => displayWidth(row[column] ?? ""))));
  return rows.map((row) =>
    row
      .map((cell, column) => padToWidth(cell, widths[column]!))
      .join("  ")
      .trimEnd(),
  );
}

/** "3d4h", "2h5m", "4m10s", "12s": the two largest units. */
export function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  const [d, h, m] = [Math.floor(s / 86_400), Math.floor((s % 86_400) / 3600), Math.floor((s % 3600) / 60)];
  if (d > 0) return `${d}d${h}h`;
  if (h > 0) return `${h}h${m}m`;
  if (m > 0) return `${m}m${s % 60}s`;
  return `${s}s`;
}

/** "512 B", "1.5 KiB", "12.0 MiB". */
export function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${units[unit]}`;
}
