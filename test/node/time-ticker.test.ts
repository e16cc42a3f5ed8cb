import { describe, expect, test } from "bun:test";
import type { Command } from "../../src/broker/commands.ts";
import type { ApplyResult } from "../../src/broker/results.ts";
import { BrokerState } from "../../src/broker/state-machine.ts";
import { TICK_IDLE_MS, TimeTicker } from "../../src/node/time-ticker.ts";
import { applyNext, msg, publish, T0 } from "../broker/helpers.ts";

/** A leader whose proposals stay in flight until the test settles them (`answer`). */
function leader(state: BrokerState) {
  const proposed: Command[] = [];
  const settle: (() => void)[] = [];
  const host = {
    now: T0,
    leader: true,
    state: () => state,
    isLeader: () => host.leader,
    propose: (c: Command): Promise<ApplyResult> => {
      proposed.push(c);
      return new Promise((resolve) => settle.push(() => resolve({ type: "tick" })));
    },
  };
  const ticker = new TimeTicker({ ...host, now: () => host.now });
  const answer = async () => {
    for (const s of settle.splice(0)) s();
    await Bun.sleep(0);
  };
  return { host, ticker, proposed, answer };
}

describe("the leader's time tick", () => {
  test("proposed once a TTL has run out and nothing was committed for a second; never while nothing can expire", async () => {
    const state = new BrokerState();
    publish(state, T0, msg("t"));
    const { host, ticker, proposed, answer } = leader(state);
    host.now = T0 + 60_000;
    ticker.tick();
    expect(proposed).toEqual([]);
    publish(state, T0 + 60_000, { ...msg("e"), ttl: 500 });
    // expired, but a command was committed less than TICK_IDLE_MS ago: the next one moves the time anyway
    host.now = T0 + 60_000 + TICK_IDLE_MS - 1;
    ticker.tick();
    expect(proposed).toEqual([]);
    host.now = T0 + 60_000 + TICK_IDLE_MS;
    host.leader = false;
    ticker.tick();
    expect(proposed).toEqual([]);
    host.leader = true;
    ticker.tick();
    ticker.tick();
    expect(proposed).toEqual([{ type: "tick", time: T0 + 60_000 + TICK_IDLE_MS }]);
    // unanswered for a second: proposed again
    host.now += TICK_IDLE_MS;
    ticker.tick();
    expect(proposed).toHaveLength(2);
    // the leader applies it: every replica drops the message at this entry
    applyNext(state, proposed[1] as Command);
    await answer();
    expect(state.topicInfo("e")).toMatchObject({ firstOffset: 1, messages: 0 });
    host.now += 10 * TICK_IDLE_MS;
    ticker.tick();
    expect(proposed).toHaveLength(2);
  });
});
