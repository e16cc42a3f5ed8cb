/**
 * Options for one production BrokerAssembly on a simulated disk, as unit tests open it: a clock whose timers the test
 * runs by hand (`later`, all of them and what they schedule in turn by `settle`), a transport that records what is
 * sent, founders 1..n on 127.0.0.1:800n.
 */
import type { AssemblyOptions } from "../../src/node/assembly-options.ts";
import { BrokerAssembly } from "../../src/node/broker-assembly.ts";
import type { Clock } from "../../src/node/clock.ts";
import type { Message } from "../../src/raft/index.ts";
import { SimFs } from "../../src/storage/sim-fs.ts";
import type { Logger } from "../../src/util/log.ts";
import { createPrng } from "../../src/util/prng.ts";

export const QUIET_LOG: Logger = { error() {}, warn() {}, info() {}, debug() {}, trace() {}, enabled: () => false };

export function simAssembly(
  founders: number[],
  overrides: Partial<AssemblyOptions> & { now?: number } = {},
): { options: AssemblyOptions; sent: Message[]; later: (() => void)[]; settle: () => Promise<void> } {
  const { now = 0, ...rest } = overrides;
  const later: (() => void)[] = [];
  const sent: Message[] = [];
  const clock: Clock = {
    now: () => now,
    after: (_ms, fn) => {
      later.push(fn);
      return () => {};
    },
    every: () => () => {},
  };
  const options = {
    id: 1,
    fs: new SimFs(),
    dataDir: "/data/1",
    clock,
    transport: { send: (messages: Message[]) => sent.push(...messages) },
    prng: createPrng(1),
    log: QUIET_LOG,
    founders: founders.map((id) => ({ id, address: `127.0.0.1:${8000 + id}` })),
    heartbeatMs: 100,
    raft: { electionTicks: 10, heartbeatTicks: 1 },
    snapshotEvery: 1000,
    retention: {},
    fatal: (e: unknown) => {
      throw e;
    },
    ...rest,
  } as AssemblyOptions;
  const settle = async () => {
    for (let i = 0; i < 50 && later.length > 0; i++) {
      for (const fn of later.splice(0)) fn();
      await Bun.sleep(0);
    }
  };
  return { options, sent, later, settle };
}

/**
 * Node 1 of `founders` on a simulated disk, opened with `overrides` and led to leadership: the other founders' votes
 * are stepped in by hand. Throws if it does not become leader.
 */
export async function leaderByHand(founders: number[], overrides: Parameters<typeof simAssembly>[1] = {}) {
  const { options, sent, settle } = simAssembly(founders, overrides);
  const assembly = await BrokerAssembly.open(options);
  for (let i = 0; i < 40 && assembly.raft.role !== "leader"; i++) {
    assembly.tick();
    await settle();
    // every other founder grants what node 1 asks
    for (const m of sent.splice(0)) {
      if (m.type !== "preVote" && m.type !== "vote") continue;
      const type = m.type === "preVote" ? "preVoteResponse" : "voteResponse";
      assembly.receive({ type, from: m.to, to: 1, term: m.term, reject: false });
      await settle();
    }
  }
  if (assembly.raft.role !== "leader") throw new Error(`node 1 is ${assembly.raft.role}, not leader, after 40 ticks`);
  await settle();
  return { assembly, sent, settle };
}
