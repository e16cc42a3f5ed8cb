import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { ClusterManager } from "../../src/manager/index.ts";
import { splitAddress } from "../../src/util/config-values.ts";
import { type ClientInbound, ClientInboundSchema, connect, createMessageParser } from "../../src/wire/index.ts";
import { waitFor } from "../support/wait.ts";
import { FakeBrokers } from "./fake-brokers.ts";
import {
  answerTo,
  captureLogs,
  openRaw,
  type RawConnection,
  reportAndWait,
  startManager,
  welcomeFrom,
} from "./helpers.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
let logs: ReturnType<typeof captureLogs>;
let brokers: FakeBrokers | undefined;
let manager: ClusterManager | undefined;
const raws: RawConnection[] = [];

beforeAll(() => {
  logs = captureLogs();
});
afterAll(() => logs.restore());
afterEach(() => {
  for (const raw of raws.splice(0)) raw.connection.close();
  manager?.stop();
  brokers?.stop();
  manager = undefined;
  brokers = undefined;
  logs.lines.length = 0;
});

/** Three fake brokers, node 1 leading, and a manager that has heard node 1's report. */
async function setUp(
  config: Parameters<typeof startManager>[0] = {},
): Promise<{ brokers: FakeBrokers; manager: ClusterManager }> {
  brokers = FakeBrokers.start(3);
  manager = startManager(config);
  raws.push(await reportAndWait(manager, brokers.report()));
  return { brokers, manager };
}

async function client(address: string): Promise<RawConnection> {
  const raw = await openRaw(address);
  raws.push(raw);
  await waitFor("the welcome", () => raw.received.find((m) => m.type === "welcome"), { intervalMs: 5 });
  return raw;
}

const forwardLines = () => logs.lines.filter((l) => l.includes("Forward "));

describe("forwarding one-shot requests to the leader", () => {
  test("a client's hello is answered with the brokers and the leader, without a node id (the manager is a directory)", async () => {
    const { brokers, manager } = await setUp();
    const welcome = await welcomeFrom(manager.address);
    expect(welcome.nodeId).toBeUndefined();
    expect(welcome.leader).toBe(1);
    expect(welcome.members).toEqual(brokers.nodes.map((n) => ({ id: n.id, address: n.address, voter: true })));
    expect(
      logs.lines.some((l) =>
        new RegExp(`\\[ClusterManager ${manager.port}\\] INFO: Running on 127\\.0\\.0\\.1:${manager.port}$`).test(l),
      ),
    ).toBe(true);
    expect(
      logs.lines.some((l) =>
        l.endsWith(`[ClusterManager ${manager.port}] INFO: New leader ${brokers.node(1).address}`),
      ),
    ).toBe(true);
  });

  test("a publish goes to the leader under the manager's own id with the client's producer, seq and epoch or none, and comes back with the client's id; the manager logs it like the demo", async () => {
    const { brokers, manager } = await setUp();
    const c = await client(manager.address);
    c.connection.send({ type: "publish", id: 41, topic: "topic1", data: bytes("Hello, world!") });
    expect(await answerTo(c, 41)).toEqual({ type: "published", id: 41, topic: "topic1", offset: 0 });
    const sent = brokers.node(1).requests.find((r) => r.type === "publish");
    expect(sent).toMatchObject({ type: "publish", topic: "topic1" });
    // an identity the manager made up would be shared by every client of it and change with each client retry
    expect(sent).not.toHaveProperty("producer");
    expect(sent).not.toHaveProperty("seq");
    c.connection.send({ type: "publish", id: 42, topic: "topic1", data: bytes("b"), producer: "p1", seq: 9, epoch: 4 });
    expect(await answerTo(c, 42)).toEqual({ type: "published", id: 42, topic: "topic1", offset: 1 });
    expect(brokers.node(1).requests.filter((r) => r.type === "publish")[1]).toMatchObject({
      producer: "p1",
      seq: 9,
      epoch: 4,
    });
    expect(brokers.node(1).roles).toEqual(["manager"]);
    const line = expect.stringMatching(
      new RegExp(`\\[ClusterManager ${manager.port}\\] INFO: Forward PUBLISH to ${brokers.node(1).address}$`),
    );
    expect(forwardLines()).toEqual([line, line]);
  });

  test("two clients pipelining publishes with the same request ids each get their own answers", async () => {
    const { brokers, manager } = await setUp();
    const a = await client(manager.address);
    const b = await client(manager.address);
    for (let id = 0; id < 50; id++) {
      a.connection.send({ type: "publish", id, topic: "a", data: bytes(`a${id}`) });
      b.connection.send({ type: "publish", id, topic: "b", data: bytes(`b${id}`) });
    }
    await waitFor("100 answers", () => (a.received.length + b.received.length === 102 ? true : undefined));
    for (const [raw, topic] of [
      [a, "a"],
      [b, "b"],
    ] as const) {
      const answers = raw.received.filter((m) => m.type === "published");
      expect(answers.map((m) => [m.id, m.topic, m.offset])).toEqual(
        Array.from({ length: 50 }, (_, i) => [i, topic, i]),
      );
    }
    expect(brokers.topics.get("a")).toEqual(Array.from({ length: 50 }, (_, i) => `a${i}`));
  });

  test("status, join, leave and transfer are forwarded and their answers relayed", async () => {
    const { brokers, manager } = await setUp();
    const c = await client(manager.address);
    c.connection.send({ type: "status", id: 1 });
    c.connection.send({ type: "join", id: 2, nodeId: 4, address: "127.0.0.1:9" });
    c.connection.send({ type: "leave", id: 3, nodeId: 3 });
    c.connection.send({ type: "transfer", id: 4, to: 2 });
    expect(await answerTo(c, 1)).toMatchObject({ type: "status", id: 1, leader: 1, term: 1 });
    expect(await answerTo(c, 2)).toEqual({ type: "ok", id: 2 });
    expect(await answerTo(c, 3)).toEqual({ type: "ok", id: 3 });
    expect(await answerTo(c, 4)).toEqual({ type: "ok", id: 4 });
    expect(brokers.node(1).requests.map((r) => r.type)).toEqual(["status", "join", "leave", "transfer"]);
    expect(forwardLines().map((l) => l.replace(/^.*INFO: /, ""))).toEqual(
      ["STATUS", "JOIN", "LEAVE", "TRANSFER"].map((t) => `Forward ${t} to ${brokers.node(1).address}`),
    );
  });

  test("a refusal that another broker would repeat (NOT_FOUND) is relayed once, not retried", async () => {
    const { brokers, manager } = await setUp();
    const c = await client(manager.address);
    c.connection.send({ type: "transfer", id: 9, to: 7 });
    expect(await answerTo(c, 9)).toMatchObject({ type: "error", id: 9, code: "NOT_FOUND" });
    expect(brokers.count("transfer")).toBe(1);
  });

  test("a broker that is not the leader: the manager follows NOT_LEADER to the leader it names", async () => {
    const { brokers, manager } = await setUp();
    brokers.leader = 2;
    const c = await client(manager.address);
    c.connection.send({ type: "publish", id: 5, topic: "t", data: bytes("x") });
    expect(await answerTo(c, 5)).toEqual({ type: "published", id: 5, topic: "t", offset: 0 });
    expect(forwardLines().map((l) => l.replace(/^.*INFO: /, ""))).toEqual([
      `Forward PUBLISH to ${brokers.node(1).address}`,
      `Forward PUBLISH to ${brokers.node(2).address}`,
    ]);
  });

  test("an unreachable leader: the manager tries the other brokers it knows until one serves", async () => {
    const { brokers, manager } = await setUp();
    brokers.kill(1);
    brokers.leader = 3;
    brokers.hintless = true;
    const c = await client(manager.address);
    c.connection.send({ type: "publish", id: 6, topic: "t", data: bytes("x") });
    expect(await answerTo(c, 6)).toEqual({ type: "published", id: 6, topic: "t", offset: 0 });
    expect(brokers.count("publish")).toBeGreaterThanOrEqual(1);
    expect(brokers.node(3).requests.filter((r) => r.type === "publish")).toHaveLength(1);
  });

  test("once another broker has served, the next request goes to it first, though the reports still name the dead leader", async () => {
    const { brokers, manager } = await setUp();
    brokers.kill(1);
    brokers.leader = 2;
    const c = await client(manager.address);
    c.connection.send({ type: "publish", id: 1, topic: "t", data: bytes("first") });
    expect(await answerTo(c, 1)).toMatchObject({ type: "published", id: 1 });
    logs.lines.length = 0;
    c.connection.send({ type: "publish", id: 2, topic: "t", data: bytes("second") });
    expect(await answerTo(c, 2)).toMatchObject({ type: "published", id: 2 });
    expect(forwardLines().map((l) => l.replace(/^.*INFO: /, ""))).toEqual([
      `Forward PUBLISH to ${brokers.node(2).address}`,
    ]);
  });

  test("the leader's connection lost after it stored a publish: the resend under the client's producer and seq is stored once, and the answer says it was a duplicate", async () => {
    const { brokers, manager } = await setUp();
    brokers.node(1).behaviour = "dropOnce";
    const c = await client(manager.address);
    c.connection.send({ type: "publish", id: 7, topic: "once", data: bytes("only once"), producer: "p", seq: 0 });
    expect(await answerTo(c, 7)).toEqual({ type: "published", id: 7, topic: "once", offset: 0, duplicate: true });
    expect(brokers.topics.get("once")).toEqual(["only once"]);
    expect(brokers.node(1).requests.filter((r) => r.type === "publish")).toHaveLength(2);
  });

  test("no broker leads: after the request timeout the client gets NO_LEADER saying what the brokers answered", async () => {
    const { brokers, manager } = await setUp({ requestTimeoutMs: 400 });
    brokers.leader = 0;
    const c = await client(manager.address);
    c.connection.send({ type: "publish", id: 8, topic: "t", data: bytes("x") });
    const answer = await answerTo(c, 8);
    expect(answer).toMatchObject({ type: "error", id: 8, code: "NO_LEADER" });
    expect((answer as { message: string }).message).toContain("NOT_LEADER");
    // it kept asking the brokers until the request timeout rather than answering at the first refusal
    expect(brokers.count("publish")).toBeGreaterThanOrEqual(3);
  });

  test("a leader that takes a request and never answers: the client gets TIMEOUT", async () => {
    const { brokers, manager } = await setUp({ requestTimeoutMs: 300 });
    brokers.node(1).behaviour = "silent";
    const c = await client(manager.address);
    c.connection.send({ type: "status", id: 3 });
    expect(await answerTo(c, 3)).toMatchObject({ type: "error", id: 3, code: "TIMEOUT" });
  });

  test("a request that arrives before any broker reported waits for the first report", async () => {
    brokers = FakeBrokers.start(1);
    manager = startManager();
    const c = await client(manager.address);
    c.connection.send({ type: "publish", id: 1, topic: "early", data: bytes("x") });
    await waitFor("the manager to hold the request", () => (manager!.inFlight === 1 ? true : undefined));
    const peer = await openRaw(manager.address, 1);
    raws.push(peer);
    peer.connection.send(brokers.report());
    expect(await answerTo(c, 1)).toEqual({ type: "published", id: 1, topic: "early", offset: 0 });
  });

  test("with no broker ever reporting, a request is answered NO_LEADER saying so", async () => {
    manager = startManager({ requestTimeoutMs: 200 });
    const c = await client(manager.address);
    c.connection.send({ type: "status", id: 2 });
    const answer = await answerTo(c, 2);
    expect(answer).toMatchObject({ type: "error", id: 2, code: "NO_LEADER" });
    expect((answer as { message: string }).message).toContain("no broker has reported to this manager yet");
  });

  test("a publish over the leader's frame limit is refused alone with FRAME_TOO_LARGE; the connection to the leader carries on", async () => {
    const { brokers, manager } = await setUp();
    const c = await client(manager.address);
    c.connection.send({ type: "publish", id: 0, topic: "small", data: bytes("first") });
    expect(await answerTo(c, 0)).toEqual({ type: "published", id: 0, topic: "small", offset: 0 });
    c.connection.send({ type: "publish", id: 1, topic: "big", data: new Uint8Array(100 * 1024) });
    c.connection.send({ type: "publish", id: 2, topic: "small", data: bytes("fits") });
    expect(await answerTo(c, 1)).toMatchObject({ type: "error", id: 1, code: "FRAME_TOO_LARGE" });
    expect(await answerTo(c, 2)).toEqual({ type: "published", id: 2, topic: "small", offset: 1 });
    // the publishes before and after the refusal came on one connection, still open: the refusal did not cost the
    // link (counting the leader's hellos instead also counted links that stray dials from a loaded run opened)
    const leader = brokers.node(1);
    const on = leader.requestConnections.filter((_, i) => leader.requests[i]?.type === "publish");
    expect(on).toHaveLength(2);
    expect(on[1]).toBe(on[0]);
    expect(leader.connections.has(on[0] as (typeof on)[number])).toBe(true);
    expect(brokers.topics.has("big")).toBe(false);
  });

  test("a client pipelining past its in-flight limit is read no further until answers come back", async () => {
    const { brokers, manager } = await setUp({ maxInFlightPerClient: 10 });
    brokers.node(1).behaviour = "hold";
    const c = await client(manager.address);
    for (let id = 0; id < 50; id++) c.connection.send({ type: "publish", id, topic: "flow", data: bytes(`m${id}`) });
    await waitFor("10 publishes at the leader", () => (brokers.count("publish") >= 10 ? true : undefined));
    // a negative over a known number of messages: 10 publishes another client sends after the first's 50 all reach
    // the leader, and still none of the first client's beyond its 10
    const other = await client(manager.address);
    for (let id = 0; id < 10; id++)
      other.connection.send({ type: "publish", id, topic: "other", data: bytes(`o${id}`) });
    const published = (topic: string) =>
      brokers.node(1).requests.filter((r) => r.type === "publish" && r.topic === topic).length;
    await waitFor("the other client's 10 publishes at the leader", () =>
      published("other") === 10 ? true : undefined,
    );
    expect(published("flow")).toBe(10);
    brokers.release(1);
    await waitFor("all 50 answered", () =>
      c.received.filter((m) => m.type === "published").length === 50 ? true : undefined,
    );
    expect(brokers.topics.get("flow")).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`));
  });
});

describe("the cluster map from reports", () => {
  test("a new leader in the reports is logged; a leader that stops reporting is forgotten but its members are kept", async () => {
    const { brokers, manager } = await setUp({ leaderStaleMs: 300 });
    brokers.leader = 2;
    brokers.term = 2;
    raws.push(await reportAndWait(manager, brokers.report()));
    expect(logs.lines.filter((l) => l.includes("New leader")).map((l) => l.replace(/^.*INFO: /, ""))).toEqual([
      `New leader ${brokers.node(1).address}`,
      `New leader ${brokers.node(2).address}`,
    ]);
    await waitFor("the silent leader to be forgotten", () =>
      logs.lines.some((l) => l.includes(`WARN: Leader ${brokers.node(2).address} stopped reporting`))
        ? true
        : undefined,
    );
    const welcome = await welcomeFrom(manager.address);
    expect({ leader: welcome.leader, members: welcome.members?.map((m) => m.id) }).toEqual({
      leader: undefined,
      members: [1, 2, 3],
    });
  });

  test("a stale report of an older term does not displace the current leader", async () => {
    const { brokers, manager } = await setUp();
    brokers.term = 5;
    brokers.leader = 3;
    const peer = await reportAndWait(manager, brokers.report());
    raws.push(peer);
    const old = await openRaw(manager.address, 1);
    raws.push(old);
    old.connection.send(brokers.report({ nodeId: 1, leader: 1, term: 4 }));
    // a request on a broker's connection is refused with a close: once that error is back, the report before it was read
    old.connection.send({ type: "status", id: 1 });
    await waitFor("the refusal after the stale report", () => old.received.find((m) => m.type === "error"));
    expect((await welcomeFrom(manager.address)).leader).toBe(3);
  });
});

describe("links opened with clients' tokens", () => {
  /** A client connection whose hello carries `token`: the manager forwards its requests on links opened with it. */
  async function tokenClient(address: string, token: string): Promise<RawConnection> {
    const { host, port } = splitAddress(address);
    const connection = await connect<ClientInbound, unknown>({
      host,
      port,
      parse: createMessageParser(ClientInboundSchema),
    });
    const received: ClientInbound[] = [];
    connection.onMessage = (m) => received.push(m);
    connection.send({ type: "hello", version: 1, role: "client", token });
    const client = { connection, received };
    raws.push(client);
    await waitFor("the welcome", () => received.find((m) => m.type === "welcome"), { intervalMs: 5 });
    return client;
  }
  const publish = (raw: RawConnection, id: number) =>
    raw.connection.send({ type: "publish", id, topic: "capped", data: bytes(`m${id}`) });

  test("past the cap over all tokens, with every link busy, a request is refused with REFUSED; an idle link makes room", async () => {
    const { brokers, manager } = await setUp({ maxTokenLinks: 2, maxLinksPerToken: 1 });
    brokers.node(1).behaviour = "hold";
    const [a, b, c] = [
      await tokenClient(manager.address, "token-a"),
      await tokenClient(manager.address, "token-b"),
      await tokenClient(manager.address, "token-c"),
    ] as [RawConnection, RawConnection, RawConnection];
    publish(a, 1);
    publish(b, 1);
    await waitFor("both publishes to wait at the leader", () => (brokers.node(1).held.length === 2 ? true : undefined));
    publish(c, 1);
    const refused = await answerTo(c, 1);
    expect(refused).toMatchObject({ type: "error", code: "REFUSED" });
    expect((refused as { message: string }).message).toContain("2 links open for client tokens");
    expect(brokers.node(1).connections.size).toBe(2);

    brokers.release(1);
    expect((await answerTo(a, 1)).type).toBe("published");
    expect((await answerTo(b, 1)).type).toBe("published");
    publish(c, 2);
    expect(await answerTo(c, 2)).toMatchObject({ type: "published", topic: "capped" });
    // the idle link it replaced is closed: still no more than two connections to the broker
    await waitFor("the replaced link to close", () => (brokers.node(1).connections.size === 2 ? true : undefined));
  });

  test("past the cap per token, with that token's links busy, its request to another broker is refused with REFUSED", async () => {
    const { brokers, manager } = await setUp({ maxTokenLinks: 10, maxLinksPerToken: 1 });
    brokers.node(1).behaviour = "hold";
    const a = await tokenClient(manager.address, "token-a");
    publish(a, 1);
    await waitFor("the publish to wait at node 1", () => (brokers.node(1).held.length === 1 ? true : undefined));
    // the reports now name node 2: the token's next request needs a second link
    brokers.leader = 2;
    brokers.term = 2;
    raws.push(await reportAndWait(manager, brokers.report()));
    publish(a, 2);
    const refused = await answerTo(a, 2);
    expect(refused).toMatchObject({ type: "error", code: "REFUSED" });
    expect((refused as { message: string }).message).toContain("at most 1 per token");
    // another token is not held back by it
    const b = await tokenClient(manager.address, "token-b");
    publish(b, 1);
    expect(await answerTo(b, 1)).toMatchObject({ type: "published" });
  });
});
