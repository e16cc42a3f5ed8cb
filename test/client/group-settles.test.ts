import { describe, expect, test } from "bun:test";
import { type Delivery, GroupSettles, type SettleKind } from "../../src/client/group-settles.ts";
import { isMqraftError } from "../../src/util/errors.ts";

/** A member's settles of one turn, batched: what was sent, and the answers given with `refuse`. */
function settles(refuse: (offsets: number[]) => number[] = () => []) {
  const sent: [SettleKind, number[], number[]][] = [];
  const answered: number[] = [];
  const s = new GroupSettles(
    async (kind, deliveries) => {
      const offsets = deliveries.map((d) => d.key);
      sent.push([kind, offsets, deliveries.map((d) => d.attempt)]);
      return refuse(offsets);
    },
    (_kind, delivered) => void answered.push(...delivered.map((d) => d.key)),
  );
  return { s, sent, answered };
}

/** The deliveries of `offsets`, each of the attempt at its place in `attempts`. */
const deliveries = (offsets: number[], attempts: number[]): Delivery[] =>
  offsets.map((key, i) => ({ key, attempt: attempts[i]! }));

const outcome = (p: Promise<void>) =>
  p.then(
    () => "ok",
    (e) => (isMqraftError(e, "REFUSED") ? `REFUSED: ${e.message.split(" is no")[0]}` : String(e)),
  );

describe("a member's settles, one request per kind a turn", () => {
  test("single settles and a batch's go in one request; the batch's one promise resolves once all of it is settled", async () => {
    const { s, sent, answered } = settles();
    const one = s.add("ack", { key: 1, attempt: 1 });
    const batch = s.addMany("ack", deliveries([2, 3, 4], [1, 1, 2]));
    const nak = s.add("nak", { key: 5, attempt: 1 });
    expect(await Promise.all([one, batch, nak].map(outcome))).toEqual(["ok", "ok", "ok"]);
    expect(sent).toEqual([
      ["ack", [1, 2, 3, 4], [1, 1, 1, 2]],
      ["nak", [5], [1]],
    ]);
    expect(answered).toEqual([1, 2, 3, 4, 5]);
  });

  test("a refused delivery rejects the batch that holds it, naming it and how many more, and nothing else", async () => {
    const { s } = settles((offsets) => offsets.filter((o) => o === 3 || o === 4));
    const before = s.add("ack", { key: 1, attempt: 1 });
    const batch = s.addMany("ack", deliveries([2, 3, 4], [1, 1, 1]));
    const after = s.add("ack", { key: 5, attempt: 1 });
    expect(await Promise.all([before, batch, after].map(outcome))).toEqual([
      "ok",
      "REFUSED: delivery 1 of offset 3 (and 1 more of the batch)",
      "ok",
    ]);
  });

  test("a turn's settles past 1,000 go in several requests, a batch never split between two", async () => {
    const { s, sent } = settles();
    const many = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
    const a = s.addMany("ack", deliveries(many(0, 600), new Array(600).fill(1)));
    const b = s.addMany("ack", deliveries(many(600, 600), new Array(600).fill(1)));
    await Promise.all([a, b]);
    expect(sent.map(([kind, offsets]) => [kind, offsets[0], offsets.length])).toEqual([
      ["ack", 0, 600],
      ["ack", 600, 600],
    ]);
    expect(() => s.addMany("ack", deliveries(many(0, 1001), new Array(1001).fill(1)))).toThrow();
  });

  test("a failed request rejects every settle in it", async () => {
    const s = new GroupSettles(
      async () => {
        throw new Error("connection lost");
      },
      () => {},
    );
    const results = await Promise.all(
      [s.add("ack", { key: 1, attempt: 1 }), s.addMany("ack", deliveries([2, 3], [1, 1]))].map(outcome),
    );
    expect(results).toEqual(["Error: connection lost", "Error: connection lost"]);
  });
});
