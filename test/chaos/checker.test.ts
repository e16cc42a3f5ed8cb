import { expect, test } from "bun:test";
import { checkHistory, summarize, type ViolationKind } from "./checker.ts";
import { type HistoryLine, parseHistory } from "./history.ts";

const OPTIONS = { recoveryBoundMs: 5000 };

/** A small healthy run: w1 sequential, w2 pipelined with one unknown outcome that was stored, a subscriber, two brokers. */
function healthy(): HistoryLine[] {
  return [
    { type: "invoke", time: 1, process: "w1", sequential: true, topic: "t", value: "a" },
    { type: "ok", time: 2, process: "w1", topic: "t", value: "a", offset: 0 },
    { type: "invoke", time: 3, process: "w2", sequential: false, topic: "t", value: "b" },
    { type: "invoke", time: 3, process: "w2", sequential: false, topic: "t", value: "c" },
    { type: "info", time: 5, process: "w2", topic: "t", value: "b", error: "TIMEOUT" },
    { type: "fault", time: 5, description: "kill -9 leader 1" },
    { type: "invoke", time: 6, process: "w1", sequential: true, topic: "t", value: "d" },
    { type: "fail", time: 6, process: "w1", topic: "t", value: "d", error: "BAD_USAGE" },
    { type: "ok", time: 7, process: "w2", topic: "t", value: "c", offset: 2 },
    { type: "subscribe", time: 1, process: "s1", topic: "t", from: 0 },
    { type: "read", time: 8, process: "s1", topic: "t", offset: 0, value: "a" },
    { type: "read", time: 8, process: "s1", topic: "t", offset: 1, value: "b" },
    { type: "subscribe", time: 9, process: "s1", topic: "t", from: 2 },
    { type: "read", time: 9, process: "s1", topic: "t", offset: 2, value: "c" },
    { type: "heal", time: 10 },
    { type: "invoke", time: 11, process: "w1", sequential: true, topic: "t", value: "e" },
    { type: "ok", time: 12, process: "w1", topic: "t", value: "e", offset: 3 },
    ...[1, 2].map(
      (broker): HistoryLine => ({
        type: "drain",
        time: 20,
        broker,
        topic: "t",
        messages: ["a", "b", "c", "e"].map((value, offset) => ({ offset, value })),
      }),
    ),
  ];
}

/** The kinds of violation found, each once, sorted. */
function kinds(history: HistoryLine[]): ViolationKind[] {
  return [...new Set(checkHistory(history, OPTIONS).violations.map((v) => v.kind))].toSorted();
}

/** The healthy history with the drain of `broker` edited by `edit`. */
function withDrain(
  broker: number,
  edit: (m: { offset: number; value: string }[]) => { offset: number; value: string }[],
): HistoryLine[] {
  return healthy().map((l) => (l.type === "drain" && l.broker === broker ? { ...l, messages: edit(l.messages) } : l));
}

test("a healthy history passes and is counted", () => {
  const report = checkHistory(healthy(), OPTIONS);
  expect(report.violations).toEqual([]);
  expect(report).toMatchObject({
    attempted: 5,
    acknowledged: 3,
    failed: 1,
    unknown: 1,
    unknownStored: 1,
    reads: 3,
    faults: 1,
  });
  expect(summarize(report)).toBe(
    "PASS faults=1 attempted=5 acknowledged=3 failed=1 unknown=1 unknown-stored=1 reads=3 durable-acks=0 availability=0.600 violations=0",
  );
});

test("an acknowledged value dropped from every drain is reported lost", () => {
  const history = healthy().map((l) =>
    l.type === "drain" ? { ...l, messages: l.messages.filter((m) => m.value !== "e") } : l,
  );
  const report = checkHistory(history, OPTIONS);
  expect(report.violations).toContainEqual({
    kind: "lost",
    detail: `t "e" acknowledged at offset 3 by w1, absent from the drains`,
  });
  expect(summarize(report)).toStartWith("FAIL");
});

test("an acknowledged value dropped from one broker's drain is reported as divergence", () => {
  expect(kinds(withDrain(2, (m) => m.slice(0, 3)))).toEqual(["divergent-brokers"]);
});

test("a value nobody published, or whose publish failed, is a phantom", () => {
  expect(
    kinds(
      healthy().map((l) => (l.type === "drain" ? { ...l, messages: [...l.messages, { offset: 4, value: "zz" }] } : l)),
    ),
  ).toEqual(["phantom"]);
  expect(
    kinds(
      healthy().map((l) => (l.type === "drain" ? { ...l, messages: [...l.messages, { offset: 4, value: "d" }] } : l)),
    ),
  ).toEqual(["phantom", "sequential-order"]);
});

test("an acknowledgement at another offset than the drained one is reported moved and as two values at one offset", () => {
  const history = healthy().map((l) => (l.type === "ok" && l.value === "c" ? { ...l, offset: 1 } : l));
  // and b, sent before c on the same client, then stands at c's offset
  expect(kinds(history)).toEqual(["duplicate-offset", "moved", "producer-order"]);
});

test("a subscriber that skips or rewinds is caught", () => {
  const skip = healthy().filter((l) => !(l.type === "read" && l.offset === 1));
  expect(kinds(skip)).toEqual(["subscriber-gap"]);
  const rewind = [
    ...healthy(),
    { type: "read", time: 9, process: "s1", topic: "t", offset: 2, value: "c" } satisfies HistoryLine,
  ];
  expect(kinds(rewind)).toEqual(["subscriber-gap"]);
});

test("a sequential writer's later value at a lower offset breaks sequential and real-time order", () => {
  const history: HistoryLine[] = [
    { type: "invoke", time: 1, process: "w1", sequential: true, topic: "t", value: "a" },
    { type: "ok", time: 2, process: "w1", topic: "t", value: "a", offset: 1 },
    { type: "invoke", time: 3, process: "w1", sequential: true, topic: "t", value: "b" },
    { type: "info", time: 4, process: "w1", topic: "t", value: "b", error: "TIMEOUT" },
    {
      type: "drain",
      time: 9,
      broker: 1,
      topic: "t",
      messages: [
        { offset: 0, value: "b" },
        { offset: 1, value: "a" },
      ],
    },
  ];
  expect(kinds(history)).toEqual(["realtime-order", "sequential-order"]);
});

test("publishing that does not come back within the bound after the heal is reported", () => {
  const slow = healthy().map((l) => (l.type === "ok" && l.value === "e" ? { ...l, time: 10 + 6000 } : l));
  expect(kinds(slow)).toEqual(["unavailable-after-heal"]);
  const never = healthy().map((l) =>
    l.type === "ok" && l.value === "e" ? ({ ...l, type: "info", error: "TIMEOUT" } as HistoryLine) : l,
  );
  expect(kinds(never)).toEqual(["unavailable-after-heal"]);
});

test("a history without drains checks nothing and says so", () => {
  expect(kinds(healthy().filter((l) => l.type !== "drain"))).toContain("no-drain");
});

test("the JSON-lines form round-trips and a malformed line is refused with its number", () => {
  const text = healthy()
    .map((l) => JSON.stringify(l))
    .join("\n");
  expect(parseHistory(text)).toEqual(healthy());
  expect(() => parseHistory(`${JSON.stringify(healthy()[0])}\n{"type":"ok","time":1}`)).toThrow(
    /history line 2 is malformed/,
  );
});

test("a durable subscription that resumes before a confirmed ack, or past an unacked message, is caught", () => {
  const acks = (resumeAt: number): HistoryLine[] => [
    ...healthy(),
    { type: "dresume", time: 13, process: "d", topic: "t", position: 0 },
    { type: "dack-invoke", time: 14, process: "d", topic: "t", offset: 0 },
    { type: "dack", time: 15, process: "d", topic: "t", offset: 0 },
    { type: "dack-invoke", time: 16, process: "d", topic: "t", offset: 1 },
    { type: "dresume", time: 17, process: "d", topic: "t", position: resumeAt },
  ];
  // The ack of 1 may or may not have been recorded: resuming at 1 or 2 is right.
  expect(kinds(acks(1))).toEqual([]);
  expect(kinds(acks(2))).toEqual([]);
  expect(kinds(acks(0))).toEqual(["durable-position"]);
  expect(kinds(acks(3))).toEqual(["durable-position"]);
  expect(checkHistory(acks(1), OPTIONS).durableAcks).toBe(1);
});

// One defect each, and exactly the violation it must raise: the checks a planted bug in the checker would silence.

test("one publish stored twice (at two offsets on every broker) is a duplicate", () => {
  const history = healthy().map((l) =>
    l.type === "drain" ? { ...l, messages: [...l.messages, { offset: 4, value: "b" }] } : l,
  );
  expect(checkHistory(history, OPTIONS).violations).toEqual([
    { kind: "duplicate-offset", detail: `t "b" is stored at offsets 1 and 4` },
  ]);
});

test("a hole in the offsets every broker holds is reported as a hole", () => {
  const history = [
    ...healthy().filter((l) => l.type !== "drain"),
    { type: "invoke", time: 13, process: "w2", sequential: false, topic: "t", value: "f" },
    { type: "info", time: 14, process: "w2", topic: "t", value: "f", error: "TIMEOUT" },
    ...[1, 2].map(
      (broker): HistoryLine => ({
        type: "drain",
        time: 20,
        broker,
        topic: "t",
        messages: [...["a", "b", "c", "e"].map((value, offset) => ({ offset, value })), { offset: 5, value: "f" }],
      }),
    ),
  ] satisfies HistoryLine[];
  expect(checkHistory(history, OPTIONS).violations.map((v) => v.kind)).toEqual(["offset-hole", "offset-hole"]);
});

test("a pipelined writer's later publish stored before an earlier one is a producer-order inversion", () => {
  // w2 invoked b then c; the drains hold c before b, and neither was acknowledged at another offset
  const history = healthy().map((l): HistoryLine => {
    if (l.type === "ok" && l.value === "c") return { ...l, type: "info", error: "TIMEOUT" } as HistoryLine;
    if (l.type === "read") return { ...l, value: l.value === "b" ? "c" : l.value === "c" ? "b" : l.value };
    if (l.type !== "drain") return l;
    return { ...l, messages: ["a", "c", "b", "e"].map((value, offset) => ({ offset, value })) };
  });
  expect(checkHistory(history, OPTIONS).violations).toEqual([
    { kind: "producer-order", detail: `w2 t: "c" at offset 1 after "b" at 2` },
  ]);
});

test("an acknowledged publish missing from the drains is exactly one loss", () => {
  const history = healthy().map((l) =>
    l.type === "drain" ? { ...l, messages: l.messages.filter((m) => m.value !== "e") } : l,
  );
  expect(checkHistory(history, OPTIONS).violations).toEqual([
    { kind: "lost", detail: `t "e" acknowledged at offset 3 by w1, absent from the drains` },
  ]);
});
