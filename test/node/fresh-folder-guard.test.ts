/**
 * What a broker on an empty data folder takes from its cluster's answers (src/node/fresh-folder-guard.ts): the floor
 * it votes above must protect every entry the lost folder helped commit, and must not be above every log, or no
 * candidate could ever pass it. The assembly is the one production runs, on the simulated disk.
 */
import { describe, expect, test } from "bun:test";
import { BrokerAssembly } from "../../src/node/broker-assembly.ts";
import { type MembersView, runningCluster } from "../../src/node/fresh-folder-guard.ts";
import type { Message } from "../../src/raft/index.ts";
import { QUIET_LOG, simAssembly } from "../support/sim-assembly.ts";

type Row = MembersView["nodes"][number];
const row = (id: number, role: string, term: number, lastIndex: number, lastTerm: number): Row => ({
  id,
  voter: true,
  role,
  term,
  lastIndex,
  lastTerm,
});
const absent = (id: number): Row => ({ id, voter: true, role: "unknown", term: null, lastIndex: null, lastTerm: null });
const outcome = (view: MembersView): string => {
  try {
    const c = runningCluster(3, view, QUIET_LOG);
    return c === undefined ? "new" : `term ${c.term}, floor (${c.floorTerm}, ${c.untilIndex})`;
  } catch (e) {
    return (e as Error).message;
  }
};

describe("the answers a broker on an empty folder needs", () => {
  test("a voter that did not answer may be a leader still counting the lost folder's match: no start without the leader's answer", () => {
    // 4 voters; 1 leads and does not answer. It may hold match 500 for node 3 and commit up to it with one more ack,
    // while 2 and 4 report 450: a marker up to 450 would let node 3 vote for a log without those entries.
    const view = {
      nodes: [absent(1), row(2, "follower", 7, 450, 7), row(3, "unknown", 0, 0, 0), row(4, "follower", 7, 440, 7)],
    };
    expect(outcome(view)).toContain("no leader of that term answered (2 of its 3 other voters did)");
    const led = {
      nodes: [absent(1), row(2, "leader", 7, 500, 7), row(3, "unknown", 0, 0, 0), row(4, "follower", 7, 450, 7)],
    };
    expect(outcome(led)).toBe("term 7, floor (7, 500)");
  });

  test("with an odd number of voters every other voter must answer: the silent one may be the candidate node 3 voted for", () => {
    // 5 voters, every log at (6, 100). Node 3 voted for 1 in term 7, and 1's requests to the others are delayed; node 3
    // then loses its folder. 2, 4 and 5 answer at term 6. Were that enough, node 3 could vote for 2 in term 7 (with 4
    // and 5: a quorum) while 1 wins term 7 with 3's old vote and the delayed ones: two leaders in term 7.
    const view = {
      nodes: [
        absent(1),
        row(2, "follower", 6, 100, 6),
        row(3, "unknown", 0, 0, 0),
        row(4, "leader", 6, 100, 6),
        row(5, "follower", 6, 100, 6),
      ],
    };
    expect(outcome(view)).toContain("only 3 of its 4 other voters answered, where 4 are needed");
    const three = { nodes: [row(1, "leader", 6, 100, 6), absent(2), row(3, "unknown", 0, 0, 0)] };
    expect(outcome(three)).toContain("only 1 of its 2 other voters answered, where 2 are needed");
    // a lone voter (a learner answered) cannot learn what it held
    const alone = { nodes: [{ ...row(1, "leader", 5, 40, 5), voter: false }, row(3, "unknown", 0, 0, 0)] };
    expect(outcome(alone)).toContain("only 0 of its 0 other voters answered, where 1 are needed");
  });

  test("a majority of the other voters is enough with an even number of voters: 1 of 1, 2 of 3", () => {
    // 2 voters: everything committed is on both, so the one other voter's answer holds it all; a majority of all
    // voters (2) can never answer for node 3, which would refuse to start for ever after losing its folder.
    expect(outcome({ nodes: [row(1, "leader", 4, 30, 4), row(3, "unknown", 0, 0, 0)] })).toBe("term 4, floor (4, 30)");
    // 4 voters: a quorum is 3, so whatever node 3 helped commit is on 2 of the other 3; any 2 of them share a member.
    const four = {
      nodes: [row(1, "leader", 5, 80, 5), absent(2), row(3, "unknown", 0, 0, 0), row(4, "follower", 5, 70, 5)],
    };
    expect(outcome(four)).toBe("term 5, floor (5, 80)");
    const one = { nodes: [row(1, "leader", 5, 80, 5), absent(2), row(3, "unknown", 0, 0, 0), absent(4)] };
    expect(outcome(one)).toContain("only 1 of its 3 other voters answered, where 2 are needed");
  });

  test("every other voter answered and none leads: no leader holds a match of the lost folder, the start goes on", () => {
    const view = { nodes: [row(1, "candidate", 9, 600, 7), row(2, "follower", 9, 600, 7), row(3, "unknown", 0, 0, 0)] };
    expect(outcome(view)).toBe("term 9, floor (7, 600)");
  });

  test("the floor is the most up-to-date answered log (later last term first), the term the highest answered", () => {
    // 5 held a longer log of an old term that was never committed; 1's shorter log of term 3 is the more up to date
    const view = {
      nodes: [
        row(1, "leader", 4, 600, 3),
        row(2, "follower", 4, 580, 3),
        row(3, "unknown", 0, 0, 0),
        row(5, "follower", 4, 700, 2),
      ],
    };
    expect(outcome(view)).toBe("term 4, floor (3, 600)");
  });

  test("brokers that do not say their last term: the longest log and the highest term, as before", () => {
    const old = (id: number, role: string, term: number, lastIndex: number): Row => ({
      id,
      voter: true,
      role,
      term,
      lastIndex,
    });
    const view = { nodes: [old(1, "leader", 4, 600), old(2, "follower", 4, 580), old(3, "unknown", 0, 0)] };
    expect(outcome(view)).toBe("term 4, floor (4, 600)");
  });
});

/** Node 3 of founders {1,2,3} started on an empty folder whose cluster answers `view`; its answers to `asks`. */
async function votesOfAmnesic(view: MembersView, asks: Message[]): Promise<string[]> {
  const { options, sent, settle } = simAssembly([1, 2, 3], {
    id: 3,
    dataDir: "/data/3",
    log: QUIET_LOG,
    askCluster: async () => runningCluster(3, view, QUIET_LOG),
  });
  const assembly = await BrokerAssembly.open(options);
  for (const m of asks) {
    assembly.receive(m);
    await settle();
    await Bun.sleep(0);
  }
  const withheld = assembly.raft.withholdVotes;
  await assembly.stop();
  return [
    `withholds ${withheld}`,
    ...sent
      .filter((m) => m.type === "voteResponse" || m.type === "preVoteResponse")
      .map((m) => `${m.type} to ${m.from === 3 ? m.to : "?"} ${"reject" in m && m.reject ? "rejected" : "granted"}`),
  ];
}

test("an empty folder that met a term raised by elections that wrote nothing still votes for the most up-to-date log", async () => {
  // 1 was a candidate of term 9 (its election wrote no entry) when 3 asked; both logs end at (600, term 7). With 1
  // gone, 2 is the only candidate left and needs 3's vote: a floor of term 9 would refuse it for ever.
  const view = { nodes: [row(1, "candidate", 9, 600, 7), row(2, "follower", 9, 600, 7), row(3, "unknown", 0, 0, 0)] };
  const ask = { from: 2, to: 3, term: 10, lastIndex: 600, lastTerm: 7, transfer: false };
  const behind = { ...ask, term: 11, lastIndex: 599 };
  expect(
    await votesOfAmnesic(view, [
      { type: "preVote", ...ask },
      { type: "vote", ...ask },
      { type: "vote", ...behind },
    ]),
  ).toEqual([
    "withholds true",
    "preVoteResponse to 2 granted",
    "voteResponse to 2 granted",
    // one entry short of the most up-to-date answered log: it may lack an entry 3 helped commit
    "voteResponse to 2 rejected",
  ]);
});

test("no second vote in the highest answered term: the candidate that answered from it may hold node 3's lost vote", async () => {
  // 1 answered as a candidate of term 7 (node 3 may have voted for it before losing its folder; 1's other requests
  // may still be on their way); 2 at term 6. A vote for 2 in term 7 could elect a second leader of term 7.
  const view = { nodes: [row(1, "candidate", 7, 100, 6), row(2, "follower", 6, 100, 6), row(3, "unknown", 0, 0, 0)] };
  const ask = { from: 2, to: 3, term: 7, lastIndex: 100, lastTerm: 6, transfer: false };
  const next = { ...ask, term: 8 };
  expect(
    await votesOfAmnesic(view, [
      { type: "preVote", ...ask },
      { type: "vote", ...ask },
      { type: "preVote", ...next },
      { type: "vote", ...next },
    ]),
  ).toEqual([
    "withholds true",
    "preVoteResponse to 2 rejected",
    "voteResponse to 2 rejected",
    "preVoteResponse to 2 granted",
    "voteResponse to 2 granted",
  ]);
});
