import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { ClusterManager } from "../../src/manager/index.ts";
import { leaderReport, ManagerReporter } from "../../src/node/manager-reporter.ts";
import type { RaftStatus } from "../../src/raft/index.ts";
import { createLogger } from "../../src/util/log.ts";
import type { ManagerReport } from "../../src/wire/index.ts";
import { freePorts } from "../support/ports.ts";
import { waitFor } from "../support/wait.ts";
import { captureLogs, openRaw, startManager, welcomeFrom } from "./helpers.ts";

const INTERVAL_MS = 20;
let logs: ReturnType<typeof captureLogs>;
const managers: ClusterManager[] = [];
const reporters: ManagerReporter[] = [];

beforeAll(() => {
  logs = captureLogs("debug");
});
afterAll(() => logs.restore());
afterEach(() => {
  for (const r of reporters.splice(0)) r.stop();
  for (const m of managers.splice(0)) m.stop();
});

const cluster: ManagerReport = {
  term: 3,
  leader: 2,
  members: [
    { id: 1, address: "127.0.0.1:8000", voter: true, reachable: true },
    { id: 2, address: "127.0.0.1:8001", voter: true, reachable: true },
    { id: 3, address: "127.0.0.1:8002", voter: true, reachable: false },
  ],
};

function manager(port = 0): ClusterManager {
  const m = startManager({ port });
  managers.push(m);
  return m;
}

function reporter(
  addresses: string[],
  report: () => ManagerReport | undefined,
  intervalMs = INTERVAL_MS,
  redialDelays: number[] = [],
): ManagerReporter {
  const r = new ManagerReporter(
    addresses,
    2,
    report,
    createLogger(() => "Broker 8001 LEADER"),
    intervalMs,
    (dial, ms) => {
      redialDelays.push(ms);
      return setTimeout(dial, ms);
    },
  );
  reporters.push(r);
  r.start();
  return r;
}

/** The backoff a reporter must follow from its first failed dial: doubling from 50 ms up to 1 s, never more. */
const BACKOFF = [50, 100, 200, 400, 800, 1000];

/** Resolves once the manager's welcome names the reported leader and members. */
async function learned(m: ClusterManager, timeoutMs = 5_000): Promise<void> {
  await waitFor(
    `manager ${m.address} to learn the cluster`,
    async () => {
      const welcome = await welcomeFrom(m.address);
      return welcome.leader === 2 && welcome.members?.length === 3 ? true : undefined;
    },
    { timeoutMs, intervalMs: 10 },
  );
}

describe("a broker reporting to managers", () => {
  test("a leader's report teaches the manager the cluster; a broker that does not lead reports nothing", async () => {
    const m = manager();
    let leading = false;
    let asked = 0;
    reporter([m.address], () => {
      asked++;
      return leading ? cluster : undefined;
    });
    await waitFor("the broker's connection", () => (m.openConnections === 1 ? true : undefined));
    // a negative over a known number of heartbeats: the broker is asked ten times more and has nothing to report
    const from = asked;
    await waitFor("ten more heartbeats", () => (asked >= from + 10 ? true : undefined));
    expect((await welcomeFrom(m.address)).members).toEqual([]);
    leading = true;
    await learned(m);
    expect((await welcomeFrom(m.address)).members).toEqual(
      cluster.members.map(({ id, address, voter }) => ({ id, address, voter })),
    );
  });

  test("every manager listed gets the reports", async () => {
    const a = manager();
    const b = manager();
    reporter([a.address, b.address], () => cluster);
    await Promise.all([learned(a), learned(b)]);
  });

  test("a manager started after the broker, and one restarted on the same port, learn the cluster within a few heartbeats", async () => {
    const [port] = (await freePorts(1)) as [number];
    const delays: number[] = [];
    reporter([`127.0.0.1:${port}`], () => cluster, 250, delays);
    // the broker has been dialing for a while, so its backoff has grown to the most it gets
    await waitFor("the backoff to reach its cap", () => (delays.length >= BACKOFF.length ? true : undefined));
    const first = manager(port);
    await learned(first);
    // redials at most a second apart: a restarted manager is dialled again within a second of coming up
    expect(delays.slice(0, BACKOFF.length)).toEqual(BACKOFF);
    expect(delays.filter((ms) => ms > 1000)).toEqual([]);
    const before = delays.length;
    first.stop();
    await first.stopped;
    const second = manager(port);
    await learned(second);
    // an accepted connection reset the backoff: the lost manager is redialled from the shortest delay again
    expect(delays.slice(before, before + 1)).toEqual([50]);
    expect(delays.filter((ms) => ms > 1000)).toEqual([]);
  });

  test("a manager at its connection limit refuses the broker: one warning, redials spaced out by backoff, and reports once a slot frees", async () => {
    const m = startManager({ maxConnections: 2 });
    managers.push(m);
    const occupants = [await openRaw(m.address), await openRaw(m.address)];
    await waitFor("the occupants' welcomes", () =>
      occupants.every((o) => o.received.some((r) => r.type === "welcome")) ? true : undefined,
    );
    const refusals = () => logs.lines.filter((l) => l.includes("Refused a connection")).length;
    const delays: number[] = [];
    reporter([m.address], () => cluster, INTERVAL_MS, delays);
    await waitFor("four refusals, each followed by a redial", () =>
      refusals() >= 4 && delays.length >= 4 ? true : undefined,
    );
    // a refusal does not reset the backoff: each redial waits twice as long as the one before
    expect(delays.slice(0, 4)).toEqual(BACKOFF.slice(0, 4));
    expect(logs.lines.filter((l) => l.includes("refused this broker's reports"))).toEqual([
      expect.stringContaining(
        `WARN: Manager ${m.address} refused this broker's reports: REFUSED: the manager has 2 connections open`,
      ),
    ]);
    occupants[0]!.connection.close();
    await waitFor(
      "the broker to take the freed slot",
      () => (m.openConnections === 2 && occupants[0]!.connection.isOpen === false ? true : undefined),
      { timeoutMs: 3_000 },
    );
    occupants[1]!.connection.close();
    await learned(m, 3_000);
  });

  test("stop() closes the connections to the managers", async () => {
    const m = manager();
    const r = reporter([m.address], () => cluster);
    await learned(m);
    r.stop();
    await waitFor("the manager to see the broker's connection close", () =>
      m.openConnections === 0 ? true : undefined,
    );
  });
});

describe("what a broker reports", () => {
  const status = (role: RaftStatus["role"]): RaftStatus => ({
    id: 1,
    role,
    term: 4,
    vote: 1,
    leader: role === "leader" ? 1 : 2,
    commit: 10,
    applied: 10,
    firstIndex: 1,
    lastIndex: 10,
    lastTerm: 4,
    membership: {
      voters: [1, 2, 3],
      learners: [4],
      addresses: { "1": "h:8000", "2": "h:8001", "3": "h:8002", "4": "h:8003" },
    },
    cluster: undefined,
    peers: [
      { id: 2, learner: false, match: 10, next: 11, state: "replicate", reachable: true },
      { id: 3, learner: false, match: 4, next: 5, state: "probe", reachable: false },
      { id: 4, learner: true, match: 10, next: 11, state: "replicate", reachable: true },
    ],
    leadTransferee: 0,
  });

  test("a leader reports its term, itself as leader, and every member with its address, vote and reachability", () => {
    expect(leaderReport(status("leader"))).toEqual({
      term: 4,
      leader: 1,
      members: [
        { id: 1, address: "h:8000", voter: true, reachable: true },
        { id: 2, address: "h:8001", voter: true, reachable: true },
        { id: 3, address: "h:8002", voter: true, reachable: false },
        { id: 4, address: "h:8003", voter: false, reachable: true },
      ],
    });
  });

  test("a follower, candidate or pre-candidate reports nothing", () => {
    for (const role of ["follower", "candidate", "preCandidate"] as const)
      expect(leaderReport(status(role))).toBeUndefined();
  });
});
