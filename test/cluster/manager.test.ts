import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ManagerProcess } from "../manager/manager-process.ts";
import { frame, frames, sendRaw } from "../manager/raw-bytes.ts";
import { requireBinary, runMqraft } from "../support/binary.ts";
import { TestCluster } from "../support/cluster.ts";
import { freePorts } from "../support/ports.ts";
import { drainRaw } from "../support/raw-client.ts";
import { waitFor } from "../support/wait.ts";
import { openClient } from "../support/wire-probe.ts";

let cluster: TestCluster | undefined;
const managers: ManagerProcess[] = [];
afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.stop()));
  await cluster?.destroy();
  cluster = undefined;
});

/** A cluster of `nodes` brokers that report to `count` managers, all started. */
async function setUp(
  nodes: number,
  count: number,
  managerArgs: string[] = [],
): Promise<{ cluster: TestCluster; managers: ManagerProcess[] }> {
  const ports = await freePorts(count);
  const list = ports.map((p) => `127.0.0.1:${p}`).join(",");
  cluster = await TestCluster.create({ nodes, argsFor: () => ["--manager", list] });
  const started = ports.map(
    (port, i) => new ManagerProcess(port, join(cluster!.dir, `manager-${i + 1}.log`), managerArgs),
  );
  for (const m of started) {
    managers.push(m);
    m.start();
  }
  return { cluster, managers: started };
}

const lines = (text: string) =>
  text
    .trim()
    .split("\n")
    .filter((l) => l !== "");
/** The manager's log lines that contain `text` (the whole log can be thousands of lines: never print it whole). */
const logLines = (m: ManagerProcess, text: string) => lines(m.log()).filter((l) => l.includes(text));
const withoutTime = (line: string) => line.replace(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /, "");

describe("mqraft manager with real brokers", () => {
  test("the manager learns the cluster from the leader's reports, forwards one-shot requests, and pub, sub and status work through it", async () => {
    const {
      cluster,
      managers: [m],
    } = await setUp(3, 1);
    const leader = await cluster.waitForLeader();
    const leaderAddress = cluster.broker(leader).address;
    await m!.learned(leader, 3);
    expect(logLines(m!, "Running on").map(withoutTime)).toEqual([
      `[ClusterManager ${m!.port}] INFO: Running on 127.0.0.1:${m!.port}`,
    ]);
    expect(logLines(m!, "New leader").map(withoutTime)).toEqual([
      `[ClusterManager ${m!.port}] INFO: New leader ${leaderAddress}`,
    ]);

    const sub = Bun.spawn(
      [requireBinary(), "sub", "topic1", "--from", "earliest", "--count", "2", "--json", "--server", m!.address],
      {
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    const subOut = new Response(sub.stdout).text();
    const pub = await runMqraft(["pub", "topic1", "Hello, world!", "--json", "--server", m!.address]);
    expect({ code: pub.code, stderr: pub.stderr }).toEqual({ code: 0, stderr: "" });
    expect(JSON.parse(pub.stdout)).toEqual({ topic: "topic1", offset: 0 });

    // a client of the raw protocol sends its publish to the manager itself, which forwards it like the demo
    const { connection, received } = await openClient(m!.address);
    connection.send({ type: "publish", id: 5, topic: "topic1", data: new TextEncoder().encode("through the manager") });
    const answer = await waitFor("the forwarded publish's answer", () =>
      received.find((r) => r.type === "published" || r.type === "error"),
    );
    connection.close();
    expect(answer).toEqual({ type: "published", id: 5, topic: "topic1", offset: 1 });
    expect(logLines(m!, "Forward").map(withoutTime)).toEqual([
      `[ClusterManager ${m!.port}] INFO: Forward PUBLISH to ${leaderAddress}`,
    ]);

    const timer = setTimeout(() => sub.kill(), 10_000);
    expect(await sub.exited).toBe(0);
    clearTimeout(timer);
    expect(lines(await subOut).map((l) => JSON.parse(l))).toEqual([
      {
        topic: "topic1",
        offset: 0,
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        data: "Hello, world!",
      },
      {
        topic: "topic1",
        offset: 1,
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        data: "through the manager",
      },
    ]);
    const status = await runMqraft(["status", "--json", "--server", m!.address]);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout).leader).toBe(leader);
  });

  test("the leader killed while publishes go through the manager: it follows the new leader, and every publish is stored exactly once", async () => {
    const {
      cluster,
      managers: [m],
    } = await setUp(3, 1);
    const leader = await cluster.waitForLeader();
    await m!.learned(leader, 3);
    const { connection, received } = await openClient(m!.address);
    const total = 400;
    const answered = () => received.filter((r) => r.type === "published" || r.type === "error");
    let sent = 0;
    const sender = setInterval(() => {
      for (const end = Math.min(total, sent + 10); sent < end; sent++) {
        connection.send({
          type: "publish",
          id: sent,
          topic: "through-failover",
          data: new TextEncoder().encode(`v${sent}`),
          // the manager forwards the client's own identity: with it, its resends are stored once
          producer: "through-failover-client",
          seq: sent,
        });
      }
      if (sent === total) clearInterval(sender);
    }, 5);
    try {
      await waitFor("100 publishes answered before the kill", () => (answered().length >= 100 ? true : undefined));
      await cluster.stop(leader, "SIGKILL");
      const next = await cluster.waitForLeader(10_000, leader);
      await waitFor(`all ${total} publishes answered`, () => (answered().length === total ? true : undefined), {
        timeoutMs: 20_000,
      });
      expect(received.filter((r) => r.type === "error")).toEqual([]);
      const acked = new Map<string, number>(
        received.flatMap((r) => (r.type === "published" ? [[`v${r.id}`, r.offset] as const] : [])),
      );
      const stored = await drainRaw(cluster.broker(next).address, "through-failover");
      expect(stored.length).toBe(total);
      expect(new Set(stored.map((s) => s.value)).size).toBe(total);
      for (const s of stored) expect(acked.get(s.value)).toBe(s.offset);
      const nextAddress = cluster.broker(next).address;
      expect(
        logLines(m!, "Forward PUBLISH to ").some((l) => l.endsWith(`INFO: Forward PUBLISH to ${nextAddress}`)),
      ).toBe(true);
      await waitFor(`the manager to log the new leader ${nextAddress}`, () =>
        logLines(m!, "New leader").some((l) => l.endsWith(`INFO: New leader ${nextAddress}`)) ? true : undefined,
      );
    } finally {
      clearInterval(sender);
      connection.close();
    }
  });

  test("a manager killed during a stream of publishes: the client given two managers carries on; a manager restarted on that port knows the cluster within a few heartbeats", async () => {
    const {
      cluster,
      managers: [m1, m2],
    } = await setUp(3, 2);
    const leader = await cluster.waitForLeader();
    await Promise.all([m1!.learned(leader, 3), m2!.learned(leader, 3)]);
    const servers = `${m1!.address},${m2!.address}`;
    const pub = Bun.spawn([requireBinary(), "pub", "stream", "--json", "--server", servers], {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
    });
    const out = new Response(pub.stdout).text();
    const err = new Response(pub.stderr).text();
    const total = 600;
    for (let i = 0; i < total; i++) {
      pub.stdin.write(`v${i}\n`);
      if (i % 50 === 49) {
        await pub.stdin.flush();
        await Bun.sleep(20);
      }
      if (i === 200) await m1!.stop("SIGKILL");
    }
    await pub.stdin.end();
    const timer = setTimeout(() => pub.kill(), 20_000);
    const code = await pub.exited;
    clearTimeout(timer);
    expect({ code, stderr: await err }).toEqual({ code: 0, stderr: "" });
    expect(lines(await out).map((l) => JSON.parse(l).offset)).toEqual(Array.from({ length: total }, (_, i) => i));
    const stored = await drainRaw(cluster.broker(leader).address, "stream");
    expect(stored.map((s) => s.value)).toEqual(Array.from({ length: total }, (_, i) => `v${i}`));

    // a new client given both managers while the first is down finds the cluster through the second
    const late = await runMqraft(["pub", "late", "x", "--json", "--server", servers]);
    expect({ code: late.code, out: late.stdout.trim() }).toEqual({
      code: 0,
      out: JSON.stringify({ topic: "late", offset: 0 }),
    });

    m1!.start();
    // brokers redial a lost manager at most a second apart (test/manager/reporter.test.ts checks the backoff) and
    // report every 250 ms: the deadline only keeps a broken redial from hanging the test
    await m1!.learned(leader, 3, 10_000);
    const after = await runMqraft(["pub", "after-restart", "x", "--json", "--server", m1!.address]);
    expect(after.code).toBe(0);
  });

  test("mqraft manager: a bad flag exits 2 naming it; a port already in use exits 1 naming the address", async () => {
    const badPort = await runMqraft(["manager", "--port", "99999"]);
    expect({ code: badPort.code, stderr: badPort.stderr.trim() }).toEqual({
      code: 2,
      stderr: 'mqraft: --port "99999": expected a port number from 1 to 65535',
    });
    const badCap = await runMqraft(["manager", "--max-connections", "0"]);
    expect({ code: badCap.code, stderr: badCap.stderr.trim() }).toEqual({
      code: 2,
      stderr: 'mqraft: --max-connections "0": expected a whole number of at least 1',
    });
    const [port] = (await freePorts(1)) as [number];
    const first = new ManagerProcess(port, "/dev/null");
    managers.push(first);
    first.start();
    await waitFor("the first manager to answer", () => first.welcome());
    const second = await runMqraft(["manager", "--port", String(port)]);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`mqraft: UNAVAILABLE: cannot listen on 127.0.0.1:${port}`);
  });

  test("bad input and a flood of connections on the manager's port: errors and closes, and the manager keeps serving", async () => {
    const {
      cluster,
      managers: [m],
    } = await setUp(1, 1, ["--max-connections", "20"]);
    const leader = await cluster.waitForLeader();
    await m!.learned(leader, 1);
    const cases: [Uint8Array, string][] = [
      [new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), "FRAME_TOO_LARGE"],
      [new Uint8Array([0x7f, 0xff, 0xff, 0xff, 1, 2, 3]), "FRAME_TOO_LARGE"],
      [frame(new Uint8Array([0xff, 0xfe, 0xfd])), "BAD_FRAME"],
      // a nesting bomb under the 64 KiB a frame may have before the hello
      [frame(new Uint8Array(60_000).fill(0x81)), "BAD_FRAME"],
      [frames({ type: "hello", version: "one" }), "BAD_MESSAGE"],
      [
        frames({ type: "hello", version: 1 }, { type: "report", nodeId: 1, term: 99, leader: 1, members: [] }),
        "BAD_MESSAGE",
      ],
      [
        frames(
          { type: "hello", version: 1 },
          { type: "append", from: 1, to: 2, term: 9, index: 0, logTerm: 0, entries: [], commit: 0 },
        ),
        "BAD_MESSAGE",
      ],
    ];
    for (const [bytes, code] of cases) {
      const { answers, closed } = await sendRaw(m!.port, bytes);
      expect({ code: answers.find((a) => a.type === "error")?.code, closed }).toEqual({ code, closed: true });
    }
    const flood = await Promise.all(Array.from({ length: 60 }, () => openClient(m!.address)));
    try {
      const outcome = await waitFor("every flood connection to be answered", () => {
        const served = flood.filter((c) => c.received.some((r) => r.type === "welcome")).length;
        const refused = flood.filter((c) => c.received.some((r) => r.type === "error" && r.code === "REFUSED")).length;
        return served + refused === flood.length ? { served, refused } : undefined;
      });
      // the broker's reporting connection is one of the 20 (and a probe's may not have closed yet)
      expect(outcome.served).toBeGreaterThan(0);
      expect(outcome.served).toBeLessThanOrEqual(19);
    } finally {
      for (const c of flood) c.connection.close();
    }
    await m!.learned(leader, 1);
    const { connection, received } = await openClient(m!.address);
    connection.send({
      type: "publish",
      id: 1,
      topic: "after-bad-input",
      data: new TextEncoder().encode("still serving"),
    });
    expect(
      await waitFor("the publish's answer", () => received.find((r) => r.type === "published" || r.type === "error")),
    ).toMatchObject({
      type: "published",
      id: 1,
      offset: 0,
    });
    connection.close();
  });
});
