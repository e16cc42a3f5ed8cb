import { describe, expect, test } from "bun:test";
import { encodeCommand } from "../../src/broker/command-codec.ts";
import { latestLogTime } from "../../src/node/log-time.ts";
import { type Entry, EntryKind } from "../../src/raft/index.ts";

const T0 = 1_700_000_000_000;

/** A log of `entries` from index 1. */
function log(entries: Omit<Entry, "index" | "term">[]) {
  return (index: number): Entry | undefined => {
    const e = entries[index - 1];
    return e === undefined ? undefined : { ...e, index, term: 1 };
  };
}
const tick = (time: number) => ({ kind: EntryKind.Normal, data: encodeCommand({ type: "tick", time }) });
const publish = (time: number) => ({
  kind: EntryKind.Normal,
  data: encodeCommand({ type: "publish", time, messages: [{ topic: "t", data: new Uint8Array([1]) }] }),
});
const noOp = { kind: EntryKind.Normal, data: new Uint8Array() };
const config = { kind: EntryKind.Config, data: new Uint8Array([1, 2, 3]) };

describe("the latest command time in the unapplied part of a log", () => {
  test("is the time of the last command, past no-ops and configuration entries", () => {
    const entryAt = log([tick(T0), publish(T0 + 5), config, noOp]);
    expect(latestLogTime(entryAt, 0, 4)).toBe(T0 + 5);
  });

  test("is 0 when every command is applied already (the state machine holds that time)", () => {
    const entryAt = log([tick(T0), publish(T0 + 5), config, noOp]);
    expect(latestLogTime(entryAt, 2, 4)).toBe(0);
  });

  test("is 0 when the log no longer holds the entries (compacted into a snapshot)", () => {
    expect(latestLogTime(() => undefined, 0, 10)).toBe(0);
  });
});
