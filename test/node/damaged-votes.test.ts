/**
 * A broker whose log was repaired after corruption may have lost entries it acknowledged: until it
 * holds them again it must neither grant votes nor pre-votes, nor campaign (docs/storage.md,
 * "Recovery at start"). The assembly is the one production runs, on the simulated disk.
 */
import { describe, expect, test } from "bun:test";
import { BrokerAssembly } from "../../src/node/broker-assembly.ts";
import { EntryKind } from "../../src/raft/index.ts";
import { LogStore } from "../../src/storage/log-store.ts";
import { SEGMENT_HEADER_SIZE } from "../../src/storage/record-codec.ts";
import { SimFs } from "../../src/storage/sim-fs.ts";
import type { Logger } from "../../src/util/log.ts";
import { fileBytes, flipBit, segmentPaths } from "../storage/storage-env.ts";
import { QUIET_LOG, simAssembly } from "../support/sim-assembly.ts";

const DIR = "/data/1";

/**
 * Node 1 of founders {1,2,3} whose log holds 20 entries of term 1, record `record` damaged when `damage` (a bit of
 * its index field, or with `atEnd` a bit of its data); opened with repair when `repair`.
 */
async function node(
  damage: boolean,
  record = 10,
  { atEnd = false, repair = damage, founders = [1, 2, 3], log = QUIET_LOG } = {},
) {
  const fs = new SimFs();
  const { options, sent, settle } = simAssembly(founders, { fs, dataDir: DIR, log });
  await (await BrokerAssembly.open(options)).stop();
  const store = await LogStore.open({ fs, dir: DIR });
  const from = store.lastIndex() + 1;
  store.append(
    Array.from({ length: 21 - from }, (_, i) => ({
      index: from + i,
      term: 1,
      kind: EntryKind.Normal,
      data: new Uint8Array(8),
    })),
  );
  await store.sync();
  await store.close();
  if (damage) {
    const path = segmentPaths(fs, DIR)[0] as string;
    const view = new DataView(fileBytes(fs, path).buffer);
    let pos = SEGMENT_HEADER_SIZE;
    for (let i = 1; i < record; i++) pos += 8 + view.getUint32(pos);
    flipBit(fs, path, atEnd ? pos + 8 + view.getUint32(pos) - 3 : pos + 20);
  }
  const assembly = await BrokerAssembly.open({ ...options, repair });
  return { assembly, sent, settle };
}

/**
 * What node 1 (20 entries of term 1, record 10 damaged when `damage`) says to a candidate whose log ends at
 * (`lastIndex`, term 1) asking for a pre-vote and a vote, then after 40 ticks alone.
 */
async function electionTraffic(damage: boolean, lastIndex = 30): Promise<string[]> {
  const n = await node(damage);
  expect(n.assembly.store.damage === undefined).toBe(!damage);
  const ask = { from: 2, to: 1, term: 2, lastIndex, lastTerm: 1, transfer: false };
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

  test("a repaired broker grants no pre-vote nor vote to a candidate behind what it may have lost, and never campaigns", async () => {
    // Its log is cut at 9; its files held up to 20 of term 1, any of them maybe acknowledged. A candidate ending at 19
    // is ahead of the cut log, and may lack entry 20.
    expect(await electionTraffic(true, 19)).toEqual(["preVoteResponse to 2 rejected", "voteResponse to 2 rejected"]);
  });

  test("a repaired broker votes for a candidate at least as up to date as the log it lost, as that log would", async () => {
    // Such a candidate holds every committed entry the lost log held (§5.4.1): withholding this vote as well could
    // leave a cluster without any majority (core simulation seed 2884). It still never campaigns.
    expect(await electionTraffic(true, 20)).toEqual(["preVoteResponse to 2 granted", "voteResponse to 2 granted"]);
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

  test("bit rot in the newest segment's last record refuses the start; repaired, the broker withholds its vote", async () => {
    // Entry 20 was fsynced and may be committed by {leader, node 1}: a candidate ending at 19 must not get this vote.
    const refused = await node(true, 20, { atEnd: true, repair: false }).then(
      () => "started",
      (e: Error) => e.message,
    );
    expect(refused).toContain("is corrupt at byte");
    expect(refused).toContain("(index 20)");
    const n = await node(true, 20, { atEnd: true });
    n.assembly.receive({ type: "vote", from: 2, to: 1, term: 2, lastIndex: 19, lastTerm: 1, transfer: false });
    await n.settle();
    const state = { last: n.assembly.raft.lastIndex(), until: n.assembly.store.damage?.untilIndex };
    await n.assembly.stop();
    const votes = n.sent
      .filter((m) => m.type === "voteResponse")
      .map((m) => ("reject" in m && m.reject ? "rejected" : "granted"));
    expect({ ...state, votes }).toEqual({ last: 19, until: 20, votes: ["rejected"] });
  });

  test("a repaired broker votes again once it holds an entry of a term above the one it was repaired in", async () => {
    // Damaged until index 20 (what its files held), repaired in term 1: a leader of term 2 was elected without it,
    // so it holds every entry node 1 may have acknowledged; its first entry here ends the damage, below index 20.
    const n = await node(true, 10);
    expect({ last: n.assembly.raft.lastIndex(), damage: n.assembly.store.damage }).toMatchObject({
      last: 9,
      damage: { untilIndex: 20, aboveTerm: 1 },
    });
    const append = { from: 2, to: 1, term: 2, index: 9, logTerm: 1, commit: 0 } as const;
    n.assembly.receive({
      type: "append",
      ...append,
      entries: [{ index: 10, term: 1, kind: EntryKind.Normal, data: new Uint8Array(8) }],
    });
    await n.settle();
    const afterOldTerm = n.assembly.store.damage?.untilIndex;
    n.assembly.receive({
      ...append,
      type: "append",
      index: 10,
      entries: [{ index: 11, term: 2, kind: EntryKind.Normal, data: new Uint8Array(0) }],
    });
    await n.settle();
    const state = {
      last: n.assembly.raft.lastIndex(),
      damage: n.assembly.store.damage,
      withhold: n.assembly.raft.withholdVotes,
    };
    // a transfer: a follower that heard from its leader this recently ignores other candidates
    n.assembly.receive({ type: "vote", from: 3, to: 1, term: 3, lastIndex: 11, lastTerm: 2, transfer: true });
    await n.settle();
    await n.assembly.stop();
    const votes = n.sent
      .filter((m) => m.type === "voteResponse")
      .map((m) => ("reject" in m && m.reject ? "rejected" : "granted"));
    expect({ afterOldTerm, ...state, votes }).toEqual({
      afterOldTerm: 20,
      last: 11,
      damage: undefined,
      withhold: false,
      votes: ["granted"],
    });
  });

  test("a repaired broker that is its cluster's only voter says what the operator must do", async () => {
    // No other broker can elect a leader of a later term or send back what was cut: it never leads again alone.
    const warnings: string[] = [];
    const log: Logger = { ...QUIET_LOG, warn: (m: string) => warnings.push(m) };
    const n = await node(true, 10, { founders: [1], log });
    for (let i = 0; i < 40; i++) {
      n.assembly.tick();
      await n.settle();
    }
    const state = { voters: n.assembly.raft.membership.voters, role: n.assembly.raft.role };
    await n.assembly.stop();
    expect(state).toEqual({ voters: [1], role: "follower" });
    expect(warnings.find((w) => w.includes("only voter"))).toContain(`remove ${DIR}/damaged`);
  });
});
