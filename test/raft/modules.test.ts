/** The small building blocks: quorum arithmetic, the in-flight window, the in-memory log, conf change encoding. */
import { describe, expect, test } from "bun:test";
import { applyConfChange, decodeConfChange, encodeConfChange, MemoryLog } from "../../src/raft/index.ts";
import { Inflights } from "../../src/raft/inflights.ts";
import { Progress } from "../../src/raft/progress.ts";
import { quorumIndex, voteOutcome } from "../../src/raft/quorum.ts";
import { isMqraftError } from "../../src/util/errors.ts";
import { members } from "./harness.ts";

describe("quorum", () => {
  test("the committed index is the highest one a majority holds", () => {
    const match = new Map([
      [1, 5],
      [2, 3],
      [3, 9],
      [4, 1],
      [5, 7],
    ]);
    expect(quorumIndex([1, 2, 3, 4, 5], (id) => match.get(id) ?? 0)).toBe(5);
    expect(quorumIndex([1, 2, 3, 4], (id) => match.get(id) ?? 0)).toBe(3);
    expect(quorumIndex([], () => 9)).toBe(0);
  });

  test("an election is won by a majority of grants and lost once a majority is out of reach", () => {
    const votes = (...v: [number, boolean][]) => new Map(v);
    expect(voteOutcome([1, 2, 3], votes([1, true], [2, true]))).toBe("won");
    expect(voteOutcome([1, 2, 3], votes([1, true], [2, false]))).toBe("pending");
    expect(voteOutcome([1, 2, 3], votes([1, true], [2, false], [3, false]))).toBe("lost");
    expect(voteOutcome([1, 2, 3, 4], votes([1, true], [2, true], [9, true]))).toBe("pending");
  });
});

describe("progress", () => {
  test("the in-flight window fills, frees up to an acknowledged index, and frees one on demand", () => {
    const w = new Inflights(3);
    w.add(2);
    w.add(4);
    w.add(6);
    expect(w.full()).toBe(true);
    w.freeLE(4);
    expect(w.size).toBe(1);
    w.freeFirst();
    expect(w.size).toBe(0);
  });

  test("the window is also full at its byte limit, and acknowledgements give the bytes back", () => {
    const w = new Inflights(10, 100);
    w.add(1, 60);
    expect(w.full()).toBe(false);
    w.add(2, 50);
    expect(w.full()).toBe(true);
    expect(w.bytes).toBe(110);
    w.freeLE(1);
    expect(w.full()).toBe(false);
    expect(w.bytes).toBe(50);
    w.reset();
    expect(w.bytes).toBe(0);
  });

  test("a replicating follower is sent entries until the bytes in flight reach the limit", () => {
    const pr = new Progress(1, 256, false, 0, 1000);
    pr.becomeReplicate();
    let sent = 0;
    while (!pr.paused()) pr.sentAppend(++sent, true, 300);
    expect(sent).toBe(4);
    pr.maybeUpdate(2);
    pr.inflights.freeLE(2);
    expect(pr.paused()).toBe(false);
  });

  test("a probe rejection backs off to the hint but never below the match; stale rejections are ignored", () => {
    const pr = new Progress(10, 4, false, 0);
    pr.match = 3;
    expect(pr.maybeDecrTo(8, 5)).toBe(false);
    expect(pr.maybeDecrTo(9, 5)).toBe(true);
    expect(pr.next).toBe(6);
    pr.probeSent = true;
    expect(pr.maybeDecrTo(5, 0)).toBe(true);
    expect(pr.next).toBe(4);
  });
});

describe("MemoryLog", () => {
  const e = (index: number, term: number) => ({ index, term, kind: 0 as const, data: new Uint8Array(4) });

  test("appending truncates any suffix; compaction keeps the term of the last dropped entry", () => {
    const log = new MemoryLog();
    log.append([e(1, 1), e(2, 1), e(3, 1)]);
    log.append([e(2, 2)]);
    expect([log.firstIndex(), log.lastIndex(), log.term(2), log.term(3)]).toEqual([1, 2, 2, undefined]);
    log.saveSnapshot({ meta: { index: 2, term: 2, membership: members([1]) }, data: new Uint8Array(0) });
    log.compact(1);
    expect([log.firstIndex(), log.term(1), log.term(0)]).toEqual([2, 1, undefined]);
    expect(log.entries(2, 3)).toEqual([e(2, 2)]);
  });

  test("entries stop at the byte limit but always return one", () => {
    const log = new MemoryLog();
    log.append([e(1, 1), e(2, 1), e(3, 1)]);
    expect(log.entries(1, 4, 9).map((x) => x.index)).toEqual([1, 2]);
    expect(log.entries(1, 4, 1).map((x) => x.index)).toEqual([1]);
  });

  test("compaction beyond the saved snapshot is refused", () => {
    const log = new MemoryLog();
    log.append([e(1, 1), e(2, 1)]);
    let error: unknown;
    try {
      log.compact(2);
    } catch (x) {
      error = x;
    }
    expect(isMqraftError(error, "BAD_USAGE")).toBe(true);
  });
});

describe("conf change", () => {
  test("round-trips through its encoding", () => {
    for (const cc of [
      { op: "addLearner", id: 70000, address: "host.example:8004" },
      { op: "promote", id: 4 },
      { op: "remove", id: 1 },
    ] as const) {
      expect(decodeConfChange(encodeConfChange(cc))).toEqual(cc);
    }
  });

  test("undecodable bytes are reported as corruption", () => {
    for (const bad of [
      new Uint8Array([1, 0, 0]),
      new Uint8Array([9, 0, 0, 0, 1]),
      new Uint8Array([2, 0, 0, 0, 0]),
      new Uint8Array([3, 0, 0, 0, 1, 7]),
    ]) {
      let error: unknown;
      try {
        decodeConfChange(bad);
      } catch (x) {
        error = x;
      }
      expect(isMqraftError(error, "CORRUPT")).toBe(true);
    }
  });

  test("applying a change that does not fit leaves the membership as it was", () => {
    const m = members([1, 2, 3]);
    expect(applyConfChange(m, { op: "promote", id: 2 })).toBe(m);
    expect(applyConfChange(m, { op: "remove", id: 2 })).toEqual({
      voters: [1, 3],
      learners: [],
      addresses: { 1: "127.0.0.1:8001", 3: "127.0.0.1:8003" },
    });
  });
});
