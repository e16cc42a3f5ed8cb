import { afterAll, afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "../../src/client/index.ts";
import { splitAddress } from "../../src/util/config-values.ts";
import {
  type ClientInbound,
  ClientInboundSchema,
  connect as connectRaw,
  createMessageParser,
} from "../../src/wire/index.ts";
import { TestCluster } from "../support/cluster.ts";
import { waitFor } from "../support/wait.ts";
import { probeStatus } from "../support/wire-probe.ts";

const dir = mkdtempSync(join(tmpdir(), "mqraft-secrets-"));
const GOOD = join(dir, "good");
const WRONG = join(dir, "wrong");
writeFileSync(GOOD, "the cluster's secret", { mode: 0o600 });
writeFileSync(WRONG, "someone else's secret", { mode: 0o600 });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.destroy();
  cluster = undefined;
});

/**
 * A raw connection that says hello as broker 7, without the cluster-secret challenge, and asks `to` for its vote in
 * term 99 right behind the hello, as a node without the secret would: taken, it would depose the leader.
 */
async function openPeer(address: string, to: number) {
  const { host, port } = splitAddress(address);
  const connection = await connectRaw<ClientInbound, unknown>({
    host,
    port,
    parse: createMessageParser(ClientInboundSchema),
  });
  const received: ClientInbound[] = [];
  connection.onMessage = (m) => received.push(m);
  connection.send({ type: "hello", version: 1, role: "peer", id: 7 });
  connection.send({ type: "vote", from: 7, to, term: 99, lastIndex: 1_000_000, lastTerm: 98, transfer: false });
  return { connection, received };
}

async function publishes(servers: string[], topic: string, count: number): Promise<number[]> {
  const c = await connect({ servers });
  try {
    const offsets: number[] = [];
    for (let i = 0; i < count; i++) offsets.push((await c.publish(topic, `m${i}`)).offset);
    return offsets;
  } finally {
    await c.close();
  }
}

test("a founding broker with a wrong secret cannot vote or replicate; the other two elect a leader and serve", async () => {
  cluster = await TestCluster.create({
    nodes: 3,
    argsFor: (id) => ["--cluster-secret-file", id === 3 ? WRONG : GOOD],
  });
  const leader = await cluster.waitForLeader();
  expect(leader).not.toBe(3);
  const servers = [cluster.broker(1).address, cluster.broker(2).address];
  expect(await publishes(servers, "t", 3)).toEqual([0, 1, 2]);
  await waitFor("the good brokers to log the refusal of node 3", () =>
    cluster!.log(1).includes("node:3 does not hold the cluster secret") ||
    cluster!.log(2).includes("node:3 does not hold the cluster secret")
      ? true
      : undefined,
  );
  await waitFor("broker 3 to log that its peers do not prove the secret", () =>
    cluster!.log(3).includes("does not hold the cluster secret") ? true : undefined,
  );
  // broker 3 heard from no leader and holds nothing of the log beyond its founding entries
  const view = await probeStatus(cluster.broker(3).address);
  const leaderView = await probeStatus(cluster.broker(leader).address);
  const commitOf = (v: typeof view, id: number) => v?.nodes.find((n) => n.id === id)?.commitIndex ?? Number.NaN;
  expect(view?.leader).toBe(0);
  expect(commitOf(view, 3)).toBeLessThan(commitOf(leaderView, leader));
});

test("a broker with a wrong secret cannot join; a peer hello without the proof is refused with UNAUTHENTICATED; the cluster keeps serving", async () => {
  cluster = await TestCluster.create({ nodes: 3, argsFor: (id) => ["--cluster-secret-file", id === 4 ? WRONG : GOOD] });
  const leader = await cluster.waitForLeader();
  const servers = cluster.addresses;

  // a peer hello without a nonce: refused before anything else is looked at
  const { connection, received } = await openPeer(cluster.broker(leader).address, leader);
  const refusal = await waitFor("the refusal of a peer hello without the proof", () =>
    received.find((m) => m.type === "error"),
  );
  expect(refusal).toMatchObject({ type: "error", code: "UNAUTHENTICATED" });
  await connection.closed;
  const afterVote = await probeStatus(cluster.broker(leader).address);
  expect({ leader: afterVote?.leader, termBelow99: (afterVote?.term ?? 99) < 99 }).toEqual({
    leader,
    termBelow99: true,
  });

  // a joiner with the wrong secret: the leader asks it to prove the secret before adding it, and it cannot
  const intruder = await cluster.addJoiner(4);
  const exitCode = await intruder.proc?.exited;
  expect({ exitCode, said: cluster.log(4).includes("did not prove the cluster secret") }).toEqual({
    exitCode: 1,
    said: true,
  });
  expect(await publishes(servers, "t", 3)).toEqual([0, 1, 2]);
  const view = await probeStatus(cluster.broker(leader).address);
  expect(view?.nodes.map((n) => n.id).sort()).toEqual([1, 2, 3]);
});

test("rotating the secret by rolling restarts: at every step two brokers on different secrets form a quorum; nothing is lost", async () => {
  const NEW = join(dir, "new");
  writeFileSync(NEW, "the secret that replaces it", { mode: 0o600 });
  const both = ["--cluster-secret-file", NEW, "--previous-cluster-secret-file", GOOD];
  const onlyNew = ["--cluster-secret-file", NEW];
  cluster = await TestCluster.create({ nodes: 3, argsFor: () => ["--cluster-secret-file", GOOD] });
  const c = cluster;
  const servers = c.addresses;
  await c.waitForLeader();
  expect(await publishes(servers, "rotation", 1)).toEqual([0]);
  const restartWith = async (id: number, args: string[]) => {
    await c.stop(id);
    c.broker(id).extraArgs = args;
    c.start(id);
  };
  // first round: each broker in turn takes the new secret and keeps the old one. With broker 3 down, broker 1
  // (old secret only) and broker 2 (both) are the quorum: they must link, elect and commit
  await restartWith(2, both);
  await c.stop(3);
  await c.waitForLeader(15_000);
  expect(await publishes(servers, "rotation", 1)).toEqual([1]);
  c.broker(3).extraArgs = both;
  c.start(3);
  await restartWith(1, both);
  // second round: the old secret goes. With broker 2 down, broker 1 (new only) and broker 3 (both) are the quorum
  await restartWith(1, onlyNew);
  await c.stop(2);
  await c.waitForLeader(15_000);
  expect(await publishes(servers, "rotation", 1)).toEqual([2]);
  c.broker(2).extraArgs = onlyNew;
  c.start(2);
  await restartWith(3, onlyNew);
  await c.waitForLeader(15_000);
  expect(await publishes(servers, "rotation", 1)).toEqual([3]);
  const reader = await connect({ servers: [c.broker(2).address] });
  try {
    const sub = await reader.subscribe("rotation", { from: "earliest", drain: true });
    const seen: string[] = [];
    for await (const m of sub) seen.push(`${m.offset}:${new TextDecoder().decode(m.data)}`);
    expect(seen).toEqual(["0:m0", "1:m0", "2:m0", "3:m0"]);
  } finally {
    await reader.close();
  }
}, 90_000);
