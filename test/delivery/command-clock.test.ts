import { afterEach, describe, expect, test } from "bun:test";
import type { BrokerState } from "../../src/broker/state-machine.ts";
import { CommandClock, MAX_CORRECTION_MS } from "../../src/node/command-clock.ts";
import type { ClientInbound } from "../../src/wire/index.ts";
import { waitFor } from "../support/wait.ts";
import { openClient } from "../support/wire-probe.ts";
import { LocalBroker } from "./local-broker.ts";

const T0 = 1_700_000_000_000;
const MINUTE = 60_000;

/** A clock whose wall and monotonic time the test moves by hand. */
function sources(stateTime: number, logTime = 0) {
  const s = { wall: T0, mono: 0, term: 2, state: stateTime, log: logTime, warnings: [] as string[] };
  const clock = new CommandClock({
    wall: () => s.wall,
    monotonic: () => s.mono,
    term: () => s.term,
    stateTime: () => s.state,
    logTime: () => s.log,
    warn: (m) => s.warnings.push(m),
  });
  return { s, clock };
}

describe("the time a leader stamps on commands", () => {
  test("a wall clock three minutes fast moves the cluster's time by what the leader measured, plus at most the correction", () => {
    const { s, clock } = sources(T0);
    s.wall = T0 + 3 * MINUTE;
    expect(clock.now()).toBe(T0 + MAX_CORRECTION_MS);
    s.mono += 1_000;
    s.wall += 1_000;
    expect(clock.now()).toBe(T0 + 1_000 + MAX_CORRECTION_MS);
    expect(s.warnings).toHaveLength(1);
    expect(s.warnings[0]).toContain("180 s ahead of the cluster's time");
  });

  test("a wall clock behind the cluster's time does not stop it: it moves with the measured time", () => {
    const { s, clock } = sources(T0);
    s.wall = T0 - 10 * MINUTE;
    expect(clock.now()).toBe(T0 - MAX_CORRECTION_MS);
    s.mono += 5_000;
    s.wall += 5_000;
    expect(clock.now()).toBe(T0 + 5_000 - MAX_CORRECTION_MS);
  });

  test("a right clock is followed; each new term anchors again at the state machine's time", () => {
    const { s, clock } = sources(T0);
    s.mono = 100;
    expect(clock.now()).toBe(T0);
    s.mono += 2_000;
    s.wall += 2_000;
    expect(clock.now()).toBe(T0 + 2_000);
    s.term = 3;
    s.state = T0 + 2_000;
    s.wall = T0 + 2_500;
    expect(clock.now()).toBe(T0 + 2_500);
    expect(s.warnings).toEqual([]);
  });

  test("a leader that has not applied its log yet anchors at the latest time its log holds, not at its wall clock", () => {
    // a restarted broker applies nothing until it commits in its own term: its state machine's time is 0 (or old)
    // while its log holds commands stamped up to T0; a clock three minutes fast must not become the cluster's time
    const { s, clock } = sources(0, T0);
    s.wall = T0 + 3 * MINUTE;
    expect(clock.now()).toBe(T0 + MAX_CORRECTION_MS);
    s.term = 3;
    s.state = T0 - MINUTE;
    s.log = T0 + 500;
    expect(clock.now()).toBe(T0 + 500 + MAX_CORRECTION_MS);
  });

  test("only a log with no command at all lets the wall clock anchor", () => {
    const { s, clock } = sources(0, 0);
    s.wall = T0 + 3 * MINUTE;
    expect(clock.now()).toBe(T0 + 3 * MINUTE);
  });
});

let broker: LocalBroker | undefined;
const realNow = Date.now;
afterEach(async () => {
  Date.now = realNow;
  await broker?.destroy();
  broker = undefined;
});

/** Publishes one message over a raw connection and returns the answer. */
async function publishRaw(address: string, topic: string, producer?: string, seq?: number) {
  const { connection, received } = await openClient(address);
  try {
    const identity = producer === undefined ? {} : { producer, seq };
    connection.send({ type: "publish", id: 1, topic, data: new TextEncoder().encode("x"), ...identity });
    return await waitFor("the publish's answer", () =>
      received.find(
        (m): m is Extract<ClientInbound, { type: "published" | "error" }> =>
          (m.type === "published" || m.type === "error") && m.id === 1,
      ),
    );
  } finally {
    connection.close();
  }
}

describe("a leader whose clock is off does not move the cluster's time with it", () => {
  test("three minutes fast: a producer's retry one second later is still known; two hours fast under 1 h retention: nothing is dropped", async () => {
    broker = await LocalBroker.start({ retention: { maxAgeMs: 60 * MINUTE } });
    for (let i = 0; i < 3; i++) await publishRaw(broker.address, "kept");
    expect(await publishRaw(broker.address, "t", "p", 0)).toMatchObject({ type: "published", offset: 0 });
    await broker.stop();
    Date.now = () => realNow() + 3 * MINUTE;
    await broker.restart();
    await publishRaw(broker.address, "other");
    expect(await publishRaw(broker.address, "t", "p", 0)).toMatchObject({
      type: "published",
      offset: 0,
      duplicate: true,
    });
    await broker.stop();
    Date.now = () => realNow() + 120 * MINUTE;
    await broker.restart();
    await publishRaw(broker.address, "other");
    const state = (broker.node as unknown as { broker: { state: BrokerState } }).broker.state;
    expect(state.topicInfo("kept")?.messages).toBe(3);
  });
});
