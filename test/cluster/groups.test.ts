import { afterEach, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import {
  type ConsumedMessage,
  type ConsumeOptions,
  connect,
  type GroupStream,
  type MqraftClient,
  type ReceivedMessage,
} from "../../src/client/index.ts";
import { requireBinary, runMqraft } from "../support/binary.ts";
import { TestCluster } from "../support/cluster.ts";
import { waitFor } from "../support/wait.ts";

let cluster: TestCluster | undefined;
const clients: MqraftClient[] = [];
const spawned: Subprocess[] = [];
afterEach(async () => {
  for (const p of spawned.splice(0)) if (p.exitCode === null) p.kill("SIGKILL");
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
  await cluster?.destroy();
  cluster = undefined;
});

async function client(servers: string[]): Promise<MqraftClient> {
  const c = await connect({ servers, timeoutMs: 15_000, resumeTimeoutMs: 30_000 });
  clients.push(c);
  return c;
}

const text = (m: { data: Uint8Array }) => new TextDecoder().decode(m.data);

interface Received {
  member: string;
  topic: string;
  offset: number;
  attempt: number;
  /** performance.now() when it arrived. */
  at: number;
}

/**
 * A member that records what it receives and settles it with `settle` (ack by default). Acks whose promise resolved
 * are in `acked`, with when they resolved.
 */
function member(
  stream: GroupStream,
  log: Received[],
  acked: Map<number, number>,
  settle?: (m: ConsumedMessage) => Promise<void>,
) {
  const done = (async () => {
    for await (const m of stream) {
      log.push({ member: stream.member, topic: m.topic, offset: m.offset, attempt: m.attempt, at: performance.now() });
      if (settle !== undefined) await settle(m);
      else
        void m.ack().then(
          () => acked.set(m.offset, performance.now()),
          () => {},
        );
    }
  })();
  done.catch(() => {});
  return done;
}

/** A member that takes its messages in batches of at most `max` (stream.batches) and acks each batch as one. */
function batchMember(stream: GroupStream, log: Received[], acked: Map<number, number>, max: number) {
  const done = (async () => {
    for await (const batch of stream.batches({ max })) {
      if (batch.messages.length > max) throw new Error(`a batch of ${batch.messages.length}, more than ${max}`);
      for (const m of batch.messages)
        log.push({
          member: stream.member,
          topic: m.topic,
          offset: m.offset,
          attempt: m.attempt,
          at: performance.now(),
        });
      void batch.ack().then(
        () => {
          for (const m of batch.messages) acked.set(m.offset, performance.now());
        },
        () => {},
      );
    }
  })();
  done.catch(() => {});
  return done;
}

/** Joins `name` to a group on `topic` from a client of its own, and runs it as member() does. */
async function startMember(
  servers: string[],
  topic: string,
  options: ConsumeOptions,
  log: Received[],
  acked: Map<number, number>,
  settle?: (m: ConsumedMessage) => Promise<void>,
): Promise<GroupStream> {
  const stream = (await client(servers)).consume(topic, options);
  await stream.start();
  member(stream, log, acked, settle);
  return stream;
}

/**
 * `mqraft sub jobs --group workers --member NAME --exec CMD` where CMD never ends, once it holds `holding` messages
 * (published here, to a new group): the process, the pids of its jobs, and the group as it then is.
 */
async function stuckMember(servers: string[], admin: MqraftClient, name: string, holding: number, ackWait: string) {
  const args = ["--member", name, "--max-pending", String(holding), "--ack-wait", ackWait, "--exec", "exec sleep 120"];
  const proc = Bun.spawn(
    [requireBinary(), "sub", "jobs", "--group", "workers", ...args, "--server", servers.join(",")],
    { stdout: "ignore", stderr: "ignore", stdin: "ignore" },
  );
  spawned.push(proc);
  await waitFor(`member ${name} to join`, async () =>
    (await admin.groups("workers"))[0]?.members.some((m) => m.name === name) ? true : undefined,
  );
  await publishAll(admin, "jobs", holding);
  const group = await waitFor(`member ${name} to hold ${holding}`, async () => {
    const [g] = await admin.groups("workers");
    return g?.members.find((m) => m.name === name)?.holding === holding ? g : undefined;
  });
  const jobs = Bun.spawnSync(["pgrep", "-P", String(proc.pid)])
    .stdout.toString()
    .trim()
    .split("\n")
    .filter(Boolean)
    .map(Number);
  return { proc, jobs, group };
}

async function publishAll(c: MqraftClient, topic: string, n: number, from = 0): Promise<void> {
  const sent: Promise<unknown>[] = [];
  for (let i = from; i < from + n; i++) sent.push(c.publish(topic, `job ${i}`));
  await Promise.all(sent);
}

async function groupDone(c: MqraftClient, name: string, n: number, timeoutMs = 60_000) {
  return waitFor(
    `group ${name} to have acked ${n}`,
    async () => {
      const [g] = await c.groups(name);
      return g !== undefined && g.acked >= n && g.outstanding === 0 && g.redeliveries === 0 ? g : undefined;
    },
    { timeoutMs, intervalMs: 200 },
  );
}

describe("consumer groups (work queues) on real brokers", () => {
  test("3 members over 10,000 messages: each acknowledged exactly once, none delivered to two members", async () => {
    cluster = await TestCluster.create({ nodes: 3 });
    await cluster.waitForLeader();
    const servers = cluster.addresses;
    const log: Received[] = [];
    const acked = new Map<number, number>();
    await startMember(servers, "jobs", { group: "workers", maxPending: 200, member: "m1" }, log, acked);
    // the second reads its stream with two loops at once (concurrent next() calls): each must be woken and get
    // messages of its own
    const second = (await client(servers)).consume("jobs", { group: "workers", maxPending: 200, member: "m2" });
    await second.start();
    const readers: Received[][] = [[], []];
    for (const reader of readers) member(second, reader, acked);
    // the third takes batches (fetch) and acks each as one, in ranges
    const third = (await client(servers)).consume("jobs", { group: "workers", maxPending: 200, member: "m3" });
    await third.start();
    batchMember(third, log, acked, 64);
    await publishAll(await client(servers), "jobs", 10_000);
    const g = await groupDone(clients[0] as MqraftClient, "workers", 10_000);
    expect(readers.map((r) => r.length > 0)).toEqual([true, true]);
    log.push(...readers.flat());
    expect({ acked: g.acked, next: g.next, redelivered: g.redelivered, dead: g.deadLettered, run: g.run }).toEqual({
      acked: 10_000,
      next: 10_000,
      redelivered: 0,
      dead: 0,
      // every broker applies command version 4: the group hands out runs
      run: 256,
    });
    const byOffset = new Map<number, Received[]>();
    for (const r of log) byOffset.set(r.offset, [...(byOffset.get(r.offset) ?? []), r]);
    const twice = [...byOffset].filter(([, rs]) => rs.length !== 1).slice(0, 5);
    expect(twice).toEqual([]);
    expect(byOffset.size).toBe(10_000);
    for (const name of ["m1", "m2", "m3"]) expect(log.filter((r) => r.member === name).length).toBeGreaterThan(1000);
    // every ack promise resolved, the batches' too
    await waitFor("every ack to resolve", async () => (acked.size === 10_000 ? true : undefined));
  }, 120_000);

  test("a member killed with -9 holding messages: all of them go to the others", async () => {
    cluster = await TestCluster.create({ nodes: 3 });
    await cluster.waitForLeader();
    const servers = cluster.addresses;
    const admin = await client(servers);
    // the doomed member holds 5 messages and never finishes its first job
    const { proc: doomed, jobs, group: before } = await stuckMember(servers, admin, "doomed", 5, "5s");
    expect(before.outstanding).toBe(5);
    doomed.kill("SIGKILL");
    await doomed.exited;
    for (const pid of jobs) process.kill(pid, "SIGKILL");

    const log: Received[] = [];
    const acked = new Map<number, number>();
    for (const name of ["a", "b"]) await startMember(servers, "jobs", { group: "workers", member: name }, log, acked);
    await publishAll(admin, "jobs", 5, 5);
    const g = await groupDone(admin, "workers", 10, 30_000);
    expect(g.members.map((m) => m.name).sort()).toEqual(["a", "b"]);
    const first5 = log.filter((r) => r.offset < 5).map((r) => [r.offset, r.attempt]);
    expect(first5.sort((x, y) => (x[0] as number) - (y[0] as number))).toEqual([0, 1, 2, 3, 4].map((o) => [o, 2]));
    expect(g.acked).toBe(10);
  }, 60_000);

  test("a member that stops answering (SIGSTOP, its connection open): its messages go to the others after the ack wait", async () => {
    cluster = await TestCluster.create({ nodes: 3 });
    await cluster.waitForLeader();
    const servers = cluster.addresses;
    const admin = await client(servers);
    const { proc: frozen, jobs } = await stuckMember(servers, admin, "frozen", 4, "2s");
    // frozen, not dead: the broker still sees its connection, so only the ack wait takes its messages back
    frozen.kill("SIGSTOP");
    for (const pid of jobs) process.kill(pid, "SIGSTOP");
    try {
      const log: Received[] = [];
      await startMember(servers, "jobs", { group: "workers", member: "other" }, log, new Map());
      const g = await groupDone(admin, "workers", 4, 30_000);
      expect(log.map((r) => [r.offset, r.attempt]).sort()).toEqual([0, 1, 2, 3].map((o) => [o, 2]));
      expect(g.members.find((m) => m.name === "frozen")).toMatchObject({ live: false, holding: 0 });
      expect(g.redelivered).toBe(4);
    } finally {
      frozen.kill("SIGKILL");
      for (const pid of jobs) process.kill(pid, "SIGKILL");
    }
  }, 60_000);

  test("the leader killed mid-run: no acknowledged message delivered again, none lost", async () => {
    cluster = await TestCluster.create({ nodes: 3 });
    const first = await cluster.waitForLeader();
    const servers = cluster.addresses;
    const log: Received[] = [];
    const acked = new Map<number, number>();
    // slow enough that the failover falls in the middle of the run
    const slowAck = async (m: ConsumedMessage) => {
      await Bun.sleep(1);
      await m.ack().then(
        () => void acked.set(m.offset, performance.now()),
        () => {},
      );
    };
    for (const name of ["m1", "m2", "m3"]) {
      const options = { group: "workers", member: name, ackWaitMs: 3000, maxPending: 50 };
      await startMember(servers, "jobs", options, log, acked, slowAck);
    }
    const publisher = await client(servers);
    const published = publishAll(publisher, "jobs", 3000);
    await waitFor("a third of the messages acked", () => (acked.size >= 1000 ? true : undefined), {
      timeoutMs: 60_000,
    });
    await cluster.stop(first);
    await cluster.waitForLeader(15_000, first);
    await published;
    const g = await groupDone(publisher, "workers", 3000, 90_000);
    expect({ acked: g.acked, next: g.next, dead: g.deadLettered, dropped: g.dropped }).toEqual({
      acked: 3000,
      next: 3000,
      dead: 0,
      dropped: 0,
    });
    // an ack that resolved is in the replicated state: nobody receives that message after it
    const late = log.filter((r) => {
      const ackedAt = acked.get(r.offset);
      return ackedAt !== undefined && r.at > ackedAt;
    });
    expect(late.slice(0, 5)).toEqual([]);
    const offsets = new Set(log.map((r) => r.offset));
    expect(offsets.size).toBe(3000);
  }, 180_000);

  test("a group on `orders.>`: every message of each matching topic, also of topics created later, goes to one member", async () => {
    cluster = await TestCluster.create({ nodes: 3 });
    const leader = await cluster.waitForLeader();
    const servers = cluster.addresses;
    const publisher = await client(servers);
    await publisher.publish("orders.eu", "before the group");
    await publisher.publish("payments.eu", "not matched");
    const log: Received[] = [];
    await startMember(servers, "orders.>", { group: "orders", member: "m1" }, log, new Map());
    // a member given only a follower's address finds the leader, as every client does
    const follower = cluster.broker(leader === 1 ? 2 : 1).address;
    await startMember([follower], "orders.>", { group: "orders", member: "m2" }, log, new Map());
    const topics = ["orders.eu", "orders.us", ...[0, 1, 2, 3, 4].map((k) => `orders.new${k}.x`)];
    const sent: Promise<unknown>[] = [];
    for (let i = 0; i < 20; i++) for (const t of topics) sent.push(publisher.publish(t, `${t} ${i}`));
    sent.push(publisher.publish("orders", "not matched: `>` takes one token or more"));
    await Promise.all(sent);
    const g = await groupDone(publisher, "orders", 141);
    const got = log.map((r) => `${r.topic}#${r.offset}`).sort();
    const expected = topics.flatMap((t) => Array.from({ length: t === "orders.eu" ? 21 : 20 }, (_, o) => `${t}#${o}`));
    expect(got).toEqual(expected.sort());
    expect({ acked: g.acked, dropped: g.dropped, dead: g.deadLettered }).toEqual({ acked: 141, dropped: 0, dead: 0 });
    for (const name of ["m1", "m2"]) expect(log.some((r) => r.member === name)).toBe(true);
  }, 60_000);

  test("`mqraft sub --group --count 3 --json` prints three messages with their attempt, acks them and exits 0", async () => {
    cluster = await TestCluster.create({ nodes: 1 });
    await cluster.waitForLeader();
    const server = cluster.broker(1).address;
    const admin = await client([server]);
    await publishAll(admin, "jobs", 3);
    const r = await runMqraft(["sub", "jobs", "--group", "printers", "--count", "3", "--json", "--server", server]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const lines = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    // the time the message was stored, RFC 3339 with milliseconds
    for (const l of lines) expect(l.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(lines.map(({ time: _, ...rest }) => rest)).toEqual(
      [0, 1, 2].map((offset) => ({ topic: "jobs", offset, data: `job ${offset}`, attempt: 1 })),
    );
    const [g] = await admin.groups("printers");
    expect(g?.acked).toBe(3);
  }, 60_000);

  test("a message naked maxDeliver times is on the dead-letter topic, with why in group info", async () => {
    cluster = await TestCluster.create({ nodes: 3 });
    await cluster.waitForLeader();
    const servers = cluster.addresses;
    const c = await client(servers);
    const log: Received[] = [];
    const options = { group: "picky", member: "p", maxDeliver: 2, deadLetter: "jobs.failed" };
    await startMember(servers, "jobs", options, log, new Map(), (m) => m.nak());
    await publishAll(c, "jobs", 3);
    const dead: ReceivedMessage[] = [];
    const sub = await c.subscribe("jobs.failed", { from: "earliest" });
    for await (const m of sub) {
      dead.push(m);
      if (dead.length === 3) break;
    }
    expect(dead.map(text).sort()).toEqual(["job 0", "job 1", "job 2"]);
    // why each is there, in its headers
    const why = dead
      .map((m) => Object.fromEntries([...m.headers].filter(([k]) => k.startsWith("mqraft-"))))
      .sort((a, b) => Number(a["mqraft-offset"]) - Number(b["mqraft-offset"]));
    expect(why).toEqual(
      [0, 1, 2].map((offset) => ({
        "mqraft-dead-letter-reason": "nak",
        "mqraft-deliveries": "2",
        "mqraft-group": "picky",
        "mqraft-topic": "jobs",
        "mqraft-offset": String(offset),
      })),
    );
    const [g] = await c.groups("picky");
    expect(g?.deadLettered).toBe(3);
    expect(g?.deadLetters.map((d) => [d.offset, d.deliveries, d.reason]).sort()).toEqual([
      [0, 2, "nak"],
      [1, 2, "nak"],
      [2, 2, "nak"],
    ]);
    const info = await runMqraft(["group", "info", "picky", "--server", servers.join(",")]);
    expect(info.code).toBe(0);
    expect(info.stdout).toContain("dead-lettered 3");
  }, 60_000);
});
