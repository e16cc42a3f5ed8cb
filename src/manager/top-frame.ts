import { padToWidth } from "../util/display-width.ts";
import { showTopic } from "../util/topic-name.ts";
import type { DashboardState } from "./dashboard-model.ts";

/** ANSI styles, or none when the output is not a terminal. */
export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
}

export const PLAIN: Style = { bold: (s) => s, dim: (s) => s, red: (s) => s, green: (s) => s };
export const ANSI: Style = {
  bold: (s) => `\x1b[1m${s}\x1b[22m`,
  dim: (s) => `\x1b[2m${s}\x1b[22m`,
  red: (s) => `\x1b[31m${s}\x1b[39m`,
  green: (s) => `\x1b[32m${s}\x1b[39m`,
};

// in terminal columns: a CJK topic name takes two a character
const pad = (s: string | number, n: number) => padToWidth(String(s), n);
const lpad = (s: string | number, n: number) => String(s).padStart(n);
const rate = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));

/** One screen of `mqraft top`: the cluster line, the nodes, the largest topics and durables (as many as `rows` allow). */
export function topFrame(state: DashboardState, style: Style, rows = 40): string[] {
  const last = state.history.at(-1);
  const lines = [
    style.bold(
      `mqraft  leader ${state.leader === 0 ? "none" : `node ${state.leader}`}  term ${state.term}  ` +
        `publish ${rate(last?.publish ?? 0)}/s  deliver ${rate(last?.delivered ?? 0)}/s  ` +
        `ack p50 ${last?.p50 ?? 0} ms  p99 ${last?.p99 ?? 0} ms`,
    ),
    "",
    style.dim(
      `${pad("ID", 4)}${pad("ADDRESS", 22)}${pad("ROLE", 11)}${pad("MEMBER", 8)}${pad("REACH", 6)}${lpad("TERM", 6)}` +
        `${lpad("COMMIT", 10)}${lpad("APPLIED", 10)}${lpad("LAG", 8)}  VERSION`,
    ),
  ];
  for (const n of state.nodes) {
    const role = n.up ? n.role : "down";
    const row =
      `${pad(n.id, 4)}${pad(n.address, 22)}${pad(role, 11)}${pad(n.voter ? "voter" : "learner", 8)}` +
      `${pad(n.reachable === null ? "?" : n.reachable ? "yes" : "no", 6)}${lpad(n.term ?? "?", 6)}` +
      `${lpad(n.commit ?? "?", 10)}${lpad(n.applied ?? "?", 10)}${lpad(n.lag ?? "?", 8)}  ${n.version || "?"}`;
    lines.push(!n.up || n.reachable === false ? style.red(row) : n.role === "leader" ? style.green(row) : row);
  }
  const room = Math.max(3, rows - lines.length - 6);
  lines.push("", style.dim(`${pad("TOPIC", 40)}${lpad("MESSAGES", 12)}${lpad("BYTES", 14)}${lpad("MSG/S", 10)}`));
  const topics = state.topics.slice(0, Math.ceil(room / 2));
  for (const t of topics)
    lines.push(`${pad(showTopic(t.name), 40)}${lpad(t.messages, 12)}${lpad(t.bytes, 14)}${lpad(rate(t.rate), 10)}`);
  if (state.topics.length > topics.length) lines.push(style.dim(`... ${state.topics.length - topics.length} more`));
  if (state.topics.length === 0) lines.push(style.dim("(none)"));
  lines.push("", style.dim(`${pad("DURABLE", 40)}${lpad("LAG", 12)}`));
  const durables = state.durables.slice(0, Math.floor(room / 2));
  for (const d of durables) lines.push(`${pad(d.name, 40)}${lpad(d.lag, 12)}`);
  if (state.durables.length === 0) lines.push(style.dim("(none)"));
  return lines;
}
