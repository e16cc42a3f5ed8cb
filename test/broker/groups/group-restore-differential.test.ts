import { expect, test } from "bun:test";
import type { Command, PublishMessage } from "../../../src/broker/commands.ts";
import type { Group } from "../../../src/broker/groups/group.ts";
import type { AckKind } from "../../../src/broker/groups/group-commands.ts";
import { groupSnapshot } from "../../../src/broker/groups/group-snapshot.ts";
import { DEAD_LETTER_PRODUCER } from "../../../src/broker/groups/groups.ts";
import { BrokerState } from "../../../src/broker/state-machine.ts";
import { createPrng, type Prng } from "../../../src/util/prng.ts";
import { applyNext, T0 } from "../helpers.ts";

/**
 * A replica restarted from its own snapshot now and then goes on exactly as one that never was: the same result for
 * every command and a byte-identical snapshot after each, on a group over a topic pattern (several topics, retention,
 * TTLs, members joining and leaving, expiries, dead letters stored by the leader, progress notes naming a key twice).
 */

const SETTINGS = { ackWaitMs: 1000, maxDeliver: 2, deadLetter: "dlq.jobs", maxPending: 8, from: "earliest" as const };
const MEMBERS = ["a", "b", "c"];
const TOPICS = ["jobs.x", "jobs.y", "jobs.z"];
const utf8 = new TextEncoder();

function pick<T>(prng: Prng, items: readonly T[]): T {
  return items[prng.int(0, items.length - 1)] as T;
}

function group(state: BrokerState): Group {
  const g = state.groups.get("workers");
  if (g === undefined) throw new Error("group workers is missing");
  return g;
}

/** The next command of a random run, read off the replica that is never restored. */
function nextCommand(prng: Prng, state: BrokerState, time: number): Command | undefined {
  const roll = prng.next();
  const member = pick(prng, MEMBERS);
  if (roll < 0.25) {
    const ttl = prng.chance(0.15) ? prng.int(200, 3000) : undefined;
    const messages: PublishMessage[] = Array.from({ length: prng.int(1, 12) }, (_, i) => ({
      topic: pick(prng, TOPICS),
      data: utf8.encode(`job ${i}`),
      ...(ttl !== undefined && prng.chance(0.5) ? { ttl } : {}),
    }));
    return { type: "publish", time, messages };
  }
  if (roll < 0.32) return { type: "group-join", time, group: "workers", topic: "jobs.>", member, settings: SETTINGS };
  const g = group(state);
  if (roll < 0.35) return g.members.has(member) ? { type: "group-leave", time, group: "workers", member } : undefined;
  if (roll < 0.4) return { type: "group-tick", time };
  if (roll < 0.43) return { type: "config", time, retention: prng.chance(0.7) ? { maxMessages: prng.int(5, 40) } : {} };
  if (roll < 0.5) {
    // what the leader does with the oldest dead letter waiting: stores it under the group's producer
    const letter = g.dead[0];
    if (letter === undefined) return undefined;
    const message = { topic: "dlq.jobs", data: new Uint8Array(1), producer: `${DEAD_LETTER_PRODUCER}workers` };
    return { type: "publish", time, messages: [{ ...message, seq: letter.seq }] };
  }
  if (!g.members.has(member)) return undefined;
  const offsets = g.heldBy(g.members.get(member)).filter(() => prng.chance(0.6));
  // progress() twice in a turn names a key twice
  if (offsets.length > 0 && prng.chance(0.2)) offsets.push(offsets[0] as number);
  const attempts = offsets.map((key) => g.outstanding.get(key)?.attempt ?? 1);
  const kind: AckKind = prng.chance(0.5) ? "ack" : prng.chance(0.5) ? "nak" : "progress";
  return { type: "group-ack", time, group: "workers", member, kind, offsets, attempts };
}

test("a pattern group's replica restored from its snapshot goes on as the others (8 seeds)", () => {
  let restores = 0;
  let deadStored = 0;
  for (let seed = 1; seed <= 8; seed++) {
    const prng = createPrng(seed * 7919);
    const original = new BrokerState();
    let restored = new BrokerState();
    let time = T0;
    for (let step = 0; step < 200; step++) {
      // several commands in one ms now and then: a progress note may then leave a deadline where it is
      time += prng.chance(0.2) ? 0 : prng.int(1, 400);
      if (step > 0 && prng.chance(0.1)) {
        restored = BrokerState.restore(restored.snapshot());
        restores++;
      }
      const command: Command | undefined =
        step === 0
          ? { type: "group-join", time, group: "workers", topic: "jobs.>", member: "a", settings: SETTINGS }
          : nextCommand(prng, original, time);
      if (command === undefined) continue;
      const expected = applyNext(original, command);
      const results = applyNext(restored, command);
      if (JSON.stringify(results) !== JSON.stringify(expected))
        throw new Error(
          `seed ${seed} step ${step}: ${JSON.stringify(expected)} expected, ${JSON.stringify(results)} came`,
        );
      // the group's part at every step, the whole state's snapshot (the costly part) now and then
      const same =
        step % 20 === 0
          ? Buffer.from(restored.snapshot()).equals(Buffer.from(original.snapshot()))
          : JSON.stringify(groupSnapshot(group(restored))) === JSON.stringify(groupSnapshot(group(original)));
      if (!same)
        throw new Error(`seed ${seed} step ${step}: the restored replica's state differs after ${command.type}`);
    }
    deadStored += group(original).recentDead.length;
  }
  // the runs did restore, and dead letters of several topics went through snapshots
  expect(restores).toBeGreaterThan(100);
  expect(deadStored).toBeGreaterThan(50);
});
