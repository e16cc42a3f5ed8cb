import { decodeWire } from "../broker/command-codec.ts";
import { type Entry, EntryKind } from "../raft/index.ts";

/**
 * The latest command time in this node's log past what it applied, 0 if none: where a new leader's clock anchors
 * before it has applied its log (a restarted node applies nothing until it commits in its own term, so its state
 * machine's time can be far behind the time its log already holds). Walks back from the log's end to the first
 * command (configuration entries and no-ops carry no time); stops at `applied`, whose time the state machine holds.
 */
export function latestLogTime(entryAt: (index: number) => Entry | undefined, applied: number, last: number): number {
  for (let index = last; index > applied; index--) {
    const entry = entryAt(index);
    if (entry === undefined) return 0;
    if (entry.kind !== EntryKind.Normal || entry.data.length === 0) continue;
    const decoded = decodeWire(entry.data);
    if (decoded.ok) return decoded.command.time;
  }
  return 0;
}
