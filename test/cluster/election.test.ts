import { afterEach, describe, expect, test } from "bun:test";
import { FrameDecoder, NEED_MORE } from "../../src/wire/index.ts";
import { TestCluster } from "../support/cluster.ts";
import { waitFor } from "../support/wait.ts";
import { probeStatus } from "../support/wire-probe.ts";

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.destroy();
  cluster = undefined;
});

describe("leader election (the demo's scenarios)", () => {
  test("three brokers with equal election timeouts elect exactly one leader, and all agree", async () => {
    cluster = await TestCluster.create({ nodes: 3 });
    const leader = await cluster.waitForLeader();
    const views = await Promise.all(cluster.addresses.map((a) => probeStatus(a)));
    expect(views.map((v) => v?.leader)).toEqual([leader, leader, leader]);
    const terms = new Set(views.map((v) => v?.term));
    expect(terms.size).toBe(1);
    expect(cluster.log(leader)).toContain(`LEADER] INFO: New leader ${cluster.broker(leader).address}`);
  });

  test("with different election timeouts the broker with the shortest one becomes leader", async () => {
    // Broker 3 times out after 150-300 ms, the others after 3-6 s: only broker 3 can win the first election.
    cluster = await TestCluster.create({ nodes: 3, argsFor: (id) => ["--election-ms", id === 3 ? "150" : "3000"] });
    expect(await cluster.waitForLeader(10_000)).toBe(3);
  });

  test("the leader killed twice in a row: a new leader each time, from the survivors", async () => {
    // The demo shrank its cluster when a node died, which Raft forbids (it can lose acknowledged
    // data); with five voters, two failures still leave a majority.
    cluster = await TestCluster.create({ nodes: 5 });
    const first = await cluster.waitForLeader();
    await cluster.stop(first, "SIGKILL");
    const second = await cluster.waitForLeader(10_000, first);
    expect(cluster.log(second)).toContain("Timeout, sending REQUEST_TO_VOTE");
    await cluster.stop(second, "SIGKILL");
    const third = await cluster.waitForLeader(10_000, second);
    expect([first, second]).not.toContain(third);
    expect(cluster.log(third)).toContain(`LEADER] INFO: New leader ${cluster.broker(third).address}`);
  });

  test("two of three brokers down: the last one never claims leadership; one back and a leader is elected", async () => {
    cluster = await TestCluster.create({ nodes: 3 });
    const first = await cluster.waitForLeader();
    const others = cluster.brokers.map((b) => b.id).filter((id) => id !== first);
    await cluster.stop(first, "SIGKILL");
    await cluster.stop(others[0] as number, "SIGKILL");
    const alone = cluster.broker(others[1] as number);
    const logged = cluster.log(alone.id).length;
    // Over a known number of its election rounds (vote requests heard on a dead peer's port) it keeps asking and
    // never leads: its log names no new leader, and it answers status as a non-leader.
    const ear = await listenForVoteRequests(cluster.broker(first).port, alone.id);
    try {
      await waitFor(`three vote requests from broker ${alone.id}`, () => (ear.requests() >= 3 ? true : undefined), {
        timeoutMs: 15_000,
      });
      const view = await probeStatus(alone.address, 5_000);
      expect({ answered: view !== undefined, leader: view?.leader }).toEqual({ answered: true, leader: 0 });
      expect(["follower", "preCandidate", "candidate"]).toContain(
        view?.nodes.find((n) => n.id === alone.id)?.role ?? "none",
      );
      expect(cluster.log(alone.id).slice(logged)).not.toContain("New leader");
    } finally {
      ear.stop();
    }
    cluster.start(first);
    const leader = await cluster.waitForLeader(10_000);
    expect([first, alone.id]).toContain(leader);
  });
});

/** Listens on a stopped broker's port and counts the pre-vote and vote requests broker `from` sends it. */
async function listenForVoteRequests(
  port: number,
  from: number,
): Promise<{ requests: () => number; stop: () => void }> {
  let requests = 0;
  const listener = Bun.listen<{ decoder: FrameDecoder }>({
    hostname: "127.0.0.1",
    port,
    socket: {
      open: (socket) => {
        socket.data = { decoder: new FrameDecoder() };
      },
      data: (socket, chunk) => {
        socket.data.decoder.push(new Uint8Array(chunk));
        for (let m = socket.data.decoder.next(); m !== NEED_MORE; m = socket.data.decoder.next()) {
          const { type, from: sender } = m as { type?: string; from?: number };
          if ((type === "preVote" || type === "vote") && sender === from) requests++;
        }
      },
    },
  });
  return { requests: () => requests, stop: () => listener.stop(true) };
}
