import { describe, expect, test } from "bun:test";
import type { PublishMessage } from "../../src/broker/commands.ts";
import { MAX_SEQS } from "../../src/broker/dedup-window.ts";
import { BrokerState } from "../../src/broker/state-machine.ts";
import { applyNext, publish, T0 } from "./helpers.ts";

const utf8 = new TextEncoder();

/** A message of a registered producer. */
function fenced(
  topic: string,
  body: string,
  producer: string,
  epoch: number,
  seq: number,
  low?: number,
): PublishMessage {
  return low === undefined
    ? { topic, data: utf8.encode(body), producer, seq, epoch }
    : { topic, data: utf8.encode(body), producer, seq, epoch, low };
}

function register(state: BrokerState, producer: string, time = T0): number {
  const index = state.appliedIndex + 1;
  const [result] = applyNext(state, { type: "register", time, producer });
  expect(result).toEqual({ type: "register", producer, epoch: index });
  return index;
}

/** What each result says, in a line: an offset, "dup@offset" or the error code. */
function outcomes(results: ReturnType<typeof publish>): string[] {
  return results.map((r) =>
    r.type === "publish" ? (r.duplicate ? `dup@${r.offset}` : `@${r.offset}`) : r.type === "error" ? r.code : r.type,
  );
}

describe("registered producers: fenced by epoch, stored in order", () => {
  test("seqs are stored in order: a seq past a hole is refused until the hole is filled", () => {
    const state = new BrokerState();
    const e = register(state, "p");
    expect(outcomes(publish(state, T0, fenced("t", "0", "p", e, 0), fenced("t", "2", "p", e, 2)))).toEqual([
      "@0",
      "OUT_OF_ORDER",
    ]);
    // the client resends from the hole, in order: 1 and 2 land after 0, nothing overtakes
    expect(
      outcomes(
        publish(state, T0, fenced("t", "1", "p", e, 1), fenced("t", "2", "p", e, 2), fenced("t", "0", "p", e, 0)),
      ),
    ).toEqual(["@1", "@2", "dup@0"]);
  });

  test("seqs the client gave up on (below its low mark) are no longer awaited, and a late copy of one is refused, not stored", () => {
    const state = new BrokerState();
    const e = register(state, "p");
    publish(state, T0, fenced("t", "0", "p", e, 0, 0));
    // seq 1 timed out at the client (it may still be on its way on an old connection): seq 2 says it waits from 2 on
    expect(outcomes(publish(state, T0, fenced("t", "2", "p", e, 2, 2), fenced("t", "3", "p", e, 3, 2)))).toEqual([
      "@1",
      "@2",
    ]);
    // the late copy of seq 1 arrives: it is not stored (the client was told its fate is unknown)
    expect(outcomes(publish(state, T0, fenced("t", "1", "p", e, 1, 0)))).toEqual(["REFUSED"]);
    expect(state.topicInfo("t")?.nextOffset).toBe(3);
    // a low above seq is not a valid message
    expect(outcomes(publish(state, T0, fenced("t", "5", "p", e, 4, 5)))).toEqual(["BAD_MESSAGE"]);
  });

  test("a new epoch fences the old one: its publishes are refused, the new one starts at seq 0 and is not taken for a duplicate", () => {
    const state = new BrokerState();
    const first = register(state, "p");
    publish(state, T0, fenced("t", "a0", "p", first, 0), fenced("t", "a1", "p", first, 1));
    const second = register(state, "p");
    expect(outcomes(publish(state, T0, fenced("t", "b0", "p", second, 0), fenced("t", "a2", "p", first, 2)))).toEqual([
      "@2",
      "FENCED",
    ]);
    // a publish without an epoch under a registered id is an older incarnation too
    expect(outcomes(publish(state, T0, { topic: "t", data: utf8.encode("x"), producer: "p", seq: 5 }))).toEqual([
      "FENCED",
    ]);
  });

  test("a producer forgotten for idleness starts afresh at whatever seq it sends next", () => {
    const state = new BrokerState();
    const e = register(state, "p");
    publish(state, T0, fenced("t", "0", "p", e, 0));
    expect(outcomes(publish(state, T0 + 10 * 60_000, fenced("t", "1", "p", e, 1)))).toEqual(["@1"]);
    expect(outcomes(publish(state, T0 + 10 * 60_000, fenced("t", "1", "p", e, 1)))).toEqual(["dup@1"]);
  });

  test("a producer forgotten for idleness whose later seq arrives first starts at its low mark: nothing overtakes", () => {
    const state = new BrokerState();
    const e = register(state, "p");
    publish(state, T0, fenced("t", "0", "p", e, 0, 0));
    // seqs 1..3 were sent long after; 3 arrives first (1 and 2 were refused on their way)
    const later = T0 + 10 * 60_000;
    expect(outcomes(publish(state, later, fenced("t", "3", "p", e, 3, 1)))).toEqual(["OUT_OF_ORDER"]);
    expect(
      outcomes(
        publish(
          state,
          later,
          fenced("t", "1", "p", e, 1, 1),
          fenced("t", "2", "p", e, 2, 1),
          fenced("t", "3", "p", e, 3, 1),
        ),
      ),
    ).toEqual(["@1", "@2", "@3"]);
  });

  test("epoch and next seq survive a snapshot", () => {
    const state = new BrokerState();
    const old = register(state, "p");
    const e = register(state, "p");
    publish(state, T0, fenced("t", "0", "p", e, 0), fenced("t", "1", "p", e, 1));
    const restored = BrokerState.restore(state.snapshot());
    expect(Buffer.from(restored.snapshot())).toEqual(Buffer.from(state.snapshot()));
    expect(outcomes(publish(restored, T0, fenced("t", "3", "p", e, 3), fenced("t", "1", "p", e, 1)))).toEqual([
      "OUT_OF_ORDER",
      "dup@1",
    ]);
    expect(outcomes(publish(restored, T0, fenced("t", "x", "p", old, 2)))).toEqual(["FENCED"]);
  });

  test("past the global cap, 120 producers with 9,000 seqs each: a retry behind any of them is never stored twice", () => {
    const state = new BrokerState();
    const producers = Array.from({ length: 120 }, (_, i) => `p${i}`);
    const epochs = producers.map((p) => register(state, p));
    const perProducer = 9_000;
    expect(producers.length * perProducer).toBeGreaterThan(MAX_SEQS);
    for (let seq = 0; seq < perProducer; seq += 100) {
      for (const [i, p] of producers.entries()) {
        const batch = Array.from({ length: 100 }, (_, k) =>
          fenced("t", `${p}-${seq + k}`, p, epochs[i] as number, seq + k),
        );
        publish(state, T0 + seq, ...batch);
      }
    }
    const stored = state.topicInfo("t")?.nextOffset;
    expect(stored).toBe(producers.length * perProducer);
    const storedAgain: string[] = [];
    for (const [i, p] of producers.entries()) {
      for (const behind of [200, 1_000, 5_000]) {
        const seq = perProducer - behind;
        const [r] = publish(state, T0 + perProducer, fenced("t", `${p}-${seq}`, p, epochs[i] as number, seq));
        if (r?.type === "publish" && r.duplicate !== true) storedAgain.push(`${p} seq ${seq}`);
      }
    }
    expect(storedAgain).toEqual([]);
    expect(state.topicInfo("t")?.nextOffset).toBe(stored);
  }, 60_000);

  test("a register that arrives again late (the client's retry of it) returns the same epoch and fences nothing", () => {
    const state = new BrokerState();
    const index = state.appliedIndex + 1;
    const first = applyNext(state, { type: "register", time: T0, producer: "p", session: "s1" });
    expect(first).toEqual([{ type: "register", producer: "p", epoch: index }]);
    expect(outcomes(publish(state, T0, fenced("t", "0", "p", index, 0)))).toEqual(["@0"]);
    // the first attempt, held up on its way (the client timed out and registered again), is applied now
    const late = applyNext(state, { type: "register", time: T0, producer: "p", session: "s1" });
    expect(late).toEqual([{ type: "register", producer: "p", epoch: index }]);
    expect(outcomes(publish(state, T0, fenced("t", "1", "p", index, 1), fenced("t", "0", "p", index, 0)))).toEqual([
      "@1",
      "dup@0",
    ]);
    // and it survives a snapshot; another session (another client, or a restart) still fences
    const restored = BrokerState.restore(state.snapshot());
    expect(Buffer.from(restored.snapshot())).toEqual(Buffer.from(state.snapshot()));
    expect(applyNext(restored, { type: "register", time: T0, producer: "p", session: "s1" })).toEqual([
      { type: "register", producer: "p", epoch: index },
    ]);
    const other = register(restored, "p");
    expect(outcomes(publish(restored, T0, fenced("t", "2", "p", index, 2)))).toEqual(["FENCED"]);
    expect(outcomes(publish(restored, T0, fenced("t", "a", "p", other, 0)))).toEqual(["@2"]);
  });

  test("a late register of the incarnation a newer one replaced is refused (FENCED) and fences nothing", () => {
    const state = new BrokerState();
    const old = state.appliedIndex + 1;
    applyNext(state, { type: "register", time: T0, producer: "p", session: "s0" });
    const index = state.appliedIndex + 1;
    expect(applyNext(state, { type: "register", time: T0, producer: "p", session: "s1" })).toEqual([
      { type: "register", producer: "p", epoch: index },
    ]);
    expect(outcomes(publish(state, T0, fenced("t", "0", "p", index, 0)))).toEqual(["@0"]);
    // the old process's register, held up on its way, is applied after the new one's (and after a snapshot)
    const restored = BrokerState.restore(state.snapshot());
    expect(Buffer.from(restored.snapshot())).toEqual(Buffer.from(state.snapshot()));
    const late = applyNext(restored, { type: "register", time: T0, producer: "p", session: "s0" });
    expect(late.map((r) => (r.type === "error" ? r.code : r.type))).toEqual(["FENCED"]);
    expect(outcomes(publish(restored, T0, fenced("t", "1", "p", index, 1), fenced("t", "x", "p", old, 1)))).toEqual([
      "@1",
      "FENCED",
    ]);
  });

  test("a late first register of an older incarnation (version 3) is refused and fences nothing; unmarked, it fences", () => {
    // Broker-simulation seeds 11608 and 14431: incarnation 0 of p sent its register and its process restarted before
    // the register was applied; incarnation 1 registered and published; then incarnation 0's register arrived. It was
    // never applied before, so no rule knew it was older, and it fenced the live incarnation.
    for (const v of [3, undefined] as const) {
      const state = new BrokerState();
      const live = state.appliedIndex + 1;
      const mark = v === undefined ? {} : { v };
      applyNext(state, { type: "register", time: T0, producer: "p", session: "2000.new", ...mark });
      expect(outcomes(publish(state, T0, fenced("t", "0", "p", live, 0)))).toEqual(["@0"]);
      const restored = BrokerState.restore(state.snapshot());
      const lateIndex = restored.appliedIndex + 1;
      const late = applyNext(restored, { type: "register", time: T0, producer: "p", session: "1000.old", ...mark });
      const after = outcomes(publish(restored, T0, fenced("t", "1", "p", live, 1)));
      if (v === 3) {
        expect(late).toMatchObject([
          { type: "error", code: "FENCED", message: expect.stringContaining("started before") },
        ]);
        expect(after).toEqual(["@1"]);
      } else {
        // a register of version 1 (some member applies no later version) keeps the old rule on every replica
        expect(late).toEqual([{ type: "register", producer: "p", epoch: lateIndex }]);
        expect(after).toEqual(["FENCED"]);
      }
      // a session that started later, or one without a start time, still starts a new epoch and fences the live one
      const next = applyNext(restored, { type: "register", time: T0, producer: "p", session: "3000.newer", ...mark });
      expect(next).toMatchObject([{ type: "register" }]);
      expect(outcomes(publish(restored, T0, fenced("t", "2", "p", live, 2)))).toEqual(["FENCED"]);
    }
  });
});
