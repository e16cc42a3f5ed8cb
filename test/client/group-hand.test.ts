import { describe, expect, test } from "bun:test";
import { GroupHand } from "../../src/client/group-hand.ts";
import type { Held } from "../../src/client/group-held.ts";
import type { SettleKind } from "../../src/client/group-settles.ts";
import { isMqraftError } from "../../src/util/errors.ts";
import { createPrng } from "../../src/util/prng.ts";
import type { GroupMessage, GroupRun } from "../../src/wire/index.ts";

const run = (offset: number, attempt: number, count: number): GroupRun => ({
  type: "group-run",
  subscription: 1,
  topic: "jobs",
  offset,
  attempt,
  messages: Array.from({ length: count }, (_, i) => ({ data: new Uint8Array([offset + i]), time: 5 })),
});
const alone = (offset: number, attempt: number): GroupMessage => ({
  type: "group-message",
  subscription: 1,
  topic: "jobs",
  offset,
  attempt,
  data: new Uint8Array([offset]),
});

/** A member's hand whose settles are answered at once, refusing nothing: what it queued and what it sent. */
function hand() {
  const sent: [SettleKind, string][] = [];
  const h = new GroupHand(async (kind, messages) => {
    sent.push([kind, messages.map((m) => `${m.key}@${m.attempt}`).join(" ")]);
    return [];
  });
  // every message queued, taken as they come: one at a time or several at once
  const queued: Held[] = [];
  const hold = (push: Parameters<GroupHand["hold"]>[0]) => {
    h.hold(push);
    for (let m = h.shift(); m !== undefined; m = h.shift()) {
      queued.push(m);
      queued.push(...h.take(queued.length % 3));
    }
    expect(h.waiting).toBe(0);
  };
  const byOffset = (offset: number, attempt = 1) => queued.find((m) => m.offset === offset && m.attempt === attempt)!;
  return { h, hold, queued, sent, byOffset, offsets: () => queued.map((m) => `${m.offset}@${m.attempt}`) };
}

const outcome = (p: Promise<void>) =>
  p.then(
    () => "ok",
    (e) => (isMqraftError(e, "REFUSED") ? "REFUSED" : String(e)),
  );

describe("what a group member holds", () => {
  test("each message of a run is queued once, in order, with its data; copies a new leader sends again are dropped, whatever the push", () => {
    const { h, hold, offsets, byOffset } = hand();
    hold(run(0, 1, 5));
    hold(run(0, 1, 5));
    hold(run(3, 1, 4));
    hold(alone(2, 1));
    hold({ type: "group-messages", subscription: 1, messages: [alone(4, 1), alone(7, 1), alone(8, 1)] });
    expect(offsets()).toEqual(["0@1", "1@1", "2@1", "3@1", "4@1", "5@1", "6@1", "7@1", "8@1"]);
    expect(Array.from({ length: 9 }, (_, i) => byOffset(i).data[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(h.holding).toBe(9);
  });

  test("an acked message is let go once answered: a second settle of it is refused here and not sent", async () => {
    const { h, hold, sent, byOffset } = hand();
    hold(run(10, 1, 3));
    await byOffset(11).ack();
    expect(sent).toEqual([["ack", "11@1"]]);
    expect(await outcome(byOffset(11).ack())).toBe("REFUSED");
    expect(await outcome(byOffset(11).nak())).toBe("REFUSED");
    expect(sent).toEqual([["ack", "11@1"]]);
    expect(h.holding).toBe(2);
  });

  test("in progress keeps a message held", async () => {
    const { h, hold, sent, byOffset } = hand();
    hold(run(0, 1, 2));
    await byOffset(1).inProgress();
    await byOffset(1).ack();
    expect(sent).toEqual([
      ["progress", "1@1"],
      ["ack", "1@1"],
    ]);
    expect(h.holding).toBe(1);
  });

  test("a redelivery that comes before the nak's answer is held; the answer lets go the naked delivery only", async () => {
    const { h, hold, byOffset, offsets } = hand();
    hold(run(0, 1, 3));
    const naked = byOffset(1);
    const nak = naked.nak();
    hold(run(1, 2, 1));
    expect(await outcome(nak)).toBe("ok");
    expect(offsets()).toEqual(["0@1", "1@1", "2@1", "1@2"]);
    expect(h.holding).toBe(3);
    expect(await outcome(naked.ack())).toBe("REFUSED");
    expect(await outcome(byOffset(1, 2).ack())).toBe("ok");
    expect(h.holding).toBe(2);
  });

  test("a batch with a message settled already settles the others, then rejects naming it; they go as one range", async () => {
    const { h, hold, sent, queued, byOffset } = hand();
    hold(run(0, 1, 4));
    await byOffset(2).ack();
    const batch = h.settleMany("ack", queued);
    await expect(batch).rejects.toThrow("offset 2 (delivery 1) of the batch was settled already");
    expect(sent[1]).toEqual(["ack", "0@1 1@1 3@1"]);
    expect(h.holding).toBe(0);
  });

  test("thousands of messages taken one by one and in batches come out in order, each once", () => {
    const h = new GroupHand(async () => []);
    const taken: number[] = [];
    for (let first = 0; first < 5_000; first += 100) {
      h.hold(run(first, 1, 100));
      // fewer taken than held each time, so that what waits grows past the point where taken slots are dropped
      for (let i = 0; i < 9; i++) taken.push(h.shift()!.offset, ...h.take(i).map((m) => m.offset));
    }
    while (h.waiting > 0) taken.push(...h.take(1000).map((m) => m.offset));
    expect(taken).toEqual(Array.from({ length: 5_000 }, (_, i) => i));
    expect(h.shift()).toBeUndefined();
  });

  test("seeded: pushes, copies, redeliveries and settles in any order are held exactly as a map of key to attempt holds them", async () => {
    const prng = createPrng(16);
    const int = (n: number) => Math.floor(prng.next() * n);
    for (let round = 0; round < 200; round++) {
      const { h, hold, queued } = hand();
      // the model: the behaviour of a map from key to the attempt held
      const model = new Map<number, number>();
      const expected: string[] = [];
      for (let step = 0; step < 40; step++) {
        if (prng.next() < 0.6 || queued.length === 0) {
          const first = int(30);
          const count = 1 + int(6);
          // also attempts going down, which a broker does not send
          const attempt = 1 + int(3);
          for (let key = first; key < first + count; key++) {
            if (model.get(key) === attempt) continue;
            model.set(key, attempt);
            expected.push(`${key}@${attempt}`);
          }
          hold(prng.next() < 0.8 || count > 1 ? run(first, attempt, count) : alone(first, attempt));
        } else if (prng.next() < 0.3) {
          // a batch of distinct messages, settled as one
          const batch = [...new Set(Array.from({ length: 1 + int(5) }, () => queued[int(queued.length)]!))];
          const held = batch.filter((m) => model.get(m.key) === m.attempt);
          const kind = (["ack", "nak", "progress"] as const)[int(3)]!;
          const got = await outcome(h.settleMany(kind, batch));
          expect(`batch ${kind} ${got}`).toBe(`batch ${kind} ${held.length === batch.length ? "ok" : "REFUSED"}`);
          if (kind !== "progress") for (const m of held) model.delete(m.key);
        } else {
          const m = queued[int(queued.length)]!;
          const ok = model.get(m.key) === m.attempt;
          const kind = (["ack", "nak", "progress"] as const)[int(3)]!;
          const got = await outcome(kind === "ack" ? m.ack() : kind === "nak" ? m.nak() : m.inProgress());
          expect(`${m.key}@${m.attempt} ${kind} ${got}`).toBe(`${m.key}@${m.attempt} ${kind} ${ok ? "ok" : "REFUSED"}`);
          if (ok && kind !== "progress") model.delete(m.key);
        }
        expect(queued.map((m) => `${m.key}@${m.attempt}`)).toEqual(expected);
        expect(h.holding).toBe(model.size);
      }
    }
  });
});
