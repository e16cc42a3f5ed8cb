/**
 * A broker whose log was repaired after corruption may have lost entries it acknowledged: until it
 * holds them again it must neither grant votes nor pre-votes, nor campaign (docs/storage.md,
 * "Recovery at start"). The assembly is the one production runs, on the simulated disk.
 */
import { describe, expect, test } from "bun:test";
import { BrokerAssembly } from "../../src/node/broker-assembly.ts";
import type { Clock } from "../../src/node/clock.ts";
import { EntryKind, type Message } from "../../src/raft/index.ts";
import { LogStore } from "../../src/storage/log-store.ts";
import { SEGMENT_HEADER_SIZE } from "../../src/storage/record-codec.ts";
import { SimFs } from "../../src/storage/sim-fs.ts";
import type { Logger } from "../../src/util/log.ts";
import { createPrng } from "../../src/util/prng.ts";
import { fileBytes, flipBit, segmentPaths } from "../storage/storage-env.ts";

const DIR = "/data/1";
const quiet: Logger = { error() {}, warn() {}, info() {}, debug() {}, trace() {}, enabled: () => false };

/** Node 1 of founders {1,2,3} whose log holds 20 entries of term 1, record `record` damaged when `damage`. */
async function node(damage: boolean, record = 10) {
  const fs = new SimFs();
  const later: (() => void)[] = [];
  const sent: Message[] = [];
  const clock: Clock = {
    now: () => 0,
    after: (_ms, fn) => {
      later.push(fn);
      return () => {};
    },
    every: () => () => {},
  };
  const options = {
    id: 1,
    fs,
    dataDir: DIR,
    clock,
    transport: { send: (messages: Message[]) => sent.push(...messages) },
    prng: createPrng(1),
    log: quiet,
    founders: [1, 2, 3].map((id) => ({ id, address: `127.0.0.1:${8000 + id}` })),
    heartbeatMs: 100,
    raft: { electionTicks: 10, heartbeatTicks: 1 },
    snapshotEvery: 1000,
    retention: {},
    fatal: (e: unknown) => {
      throw e;
    },
  };
  await (await BrokerAssembly.open(options)).stop();
  const store = await LogStore.open({ fs, dir: DIR });
  store.append(
    Array.from({ length: 14 }, (_, i) => ({ index: 7 + i, term: 1, kind: EntryKind.Normal, data: new Uint8Array(8) })),
  );
  await store.sync();
  await store.close();
  if (damage) {
    const path = segmentPaths(fs, DIR)[0] as string;
    const view = new DataView(fileBytes(fs, path).buffer);
    let pos = SEGMENT_HEADER_SIZE;
    for (let i = 1; i < record; i++) pos += 8 + view.getUint32(pos);
    flipBit(fs, path, pos + 20);
  }
  const assembly = await BrokerAssembly.open({ ...options, repair: damage });
  const settle = async () => {
    for (let i = 0; i < 50 && later.length > 0; i++) {
      for (const fn of later.splice(0)) fn();
      await Bun.sleep(0);
    }
  };
  return { assembly, sent, settle };
}

/** What node 1 says to a candidate with a longer log asking for a pre-vote and a vote, then after 40 ticks alone. */
async function electionTraffic(damage: boolean): Promise<string[]> {
  const n = await node(damage);
  expect(n.assembly.store.damage === undefined).toBe(!damage);
  const ask = { from: 2, to: 1, term: 2, lastIndex: 30, lastTerm: 1, transfer: false };
  n.assembly.receive({ type: "preVote", ...ask });
  await n.settle();
  n.assembly.receive({ type: "vote", ...ask });
  await n.settle();
  for (let i = 0; i < 40; i++) {
    n.assembly.tick();
    await n.settle();
  }
  await n.assembly.stop();
  return n.sent
    .filter((m) => m.type.startsWith("vote") || m.type.startsWith("preVote"))
    .map((m) => `${m.type} to ${m.to}${"reject" in m ? (m.reject ? " rejected" : " granted") : ""}`)
    .filter((line, i, all) => all.indexOf(line) === i);
}

describe("a repaired broker withholds its votes", () => {
  test("a healthy broker grants a pre-vote and a vote, and campaigns when alone (the control)", async () => {
    expect(await electionTraffic(false)).toEqual([
      "preVoteResponse to 2 granted",
      "voteResponse to 2 granted",
      "preVote to 2",
      "preVote to 3",
    ]);
  });

  test("a repaired broker grants neither pre-votes nor votes, and never campaigns, until it has caught up", async () => {
    expect(await electionTraffic(true)).toEqual(["preVoteResponse to 2 rejected", "voteResponse to 2 rejected"]);
  });

  test("a repaired broker whose kept log names it the only voter does not elect itself (found by the simulator)", async () => {
    // Records 1 and 2 make node 1 a voter; the founders' other promotions (records 3 to 6) are cut by the repair.
    const n = await node(true, 3);
    expect(n.assembly.raft.membership.voters).toEqual([]);
    for (let i = 0; i < 40; i++) {
      n.assembly.tick();
      await n.settle();
    }
    const state = {
      voters: n.assembly.raft.membership.voters,
      role: n.assembly.raft.role,
      last: n.assembly.raft.lastIndex(),
    };
    await n.assembly.stop();
    expect(state).toEqual({ voters: [1], role: "follower", last: 2 });
  });
});
