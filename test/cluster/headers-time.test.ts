import { afterEach, describe, expect, test } from "bun:test";
import { connect, MessageHeaders, type MqraftClient, type ReceivedMessage } from "../../src/client/index.ts";
import { runMqraft } from "../support/binary.ts";
import { TestCluster } from "../support/cluster.ts";

let cluster: TestCluster | undefined;
const clients: MqraftClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
  await cluster?.destroy();
  cluster = undefined;
});

const RFC3339_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe("headers and time on real brokers", () => {
  test("`pub -H` headers are stored, replicated and shown by `sub --json` and `sub --headers`, with the time", async () => {
    cluster = await TestCluster.create({ nodes: 3 });
    await cluster.waitForLeader();
    const [a, b, c] = cluster.addresses as [string, string, string];
    const before = Date.now();
    const pub = await runMqraft([
      "pub",
      "orders",
      "hello",
      "-H",
      "Content-Type=text/plain",
      "--header",
      "trace=a=b",
      "--server",
      a,
    ]);
    expect(pub).toMatchObject({ code: 0, stdout: "published orders #0\n" });
    expect((await runMqraft(["pub", "orders", "plain", "--server", a])).code).toBe(0);
    const after = Date.now();
    const json = await runMqraft(["sub", "orders", "--from", "earliest", "--drain", "--json", "--server", b]);
    expect(json.code).toBe(0);
    const lines = json.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(lines).toEqual([
      {
        topic: "orders",
        offset: 0,
        time: expect.stringMatching(RFC3339_MS),
        headers: { "content-type": "text/plain", trace: "a=b" },
        data: "hello",
      },
      { topic: "orders", offset: 1, time: expect.stringMatching(RFC3339_MS), data: "plain" },
    ]);
    // the leader's clock stamped each entry while the publish was in flight
    for (const line of lines) {
      const time = Date.parse(line.time);
      expect([before - 1000 <= time, time <= after + 1000]).toEqual([true, true]);
    }
    const plain = await runMqraft(["sub", "orders", "--from", "earliest", "--drain", "--headers", "--server", c]);
    expect(plain).toMatchObject({
      code: 0,
      stdout: "orders #0  hello\n  content-type: text/plain\n  trace: a=b\norders #1  plain\n",
    });
  });

  test("the client library: headers as a Headers-like map both ways, the time as ms", async () => {
    cluster = await TestCluster.create({ nodes: 1 });
    await cluster.waitForLeader();
    const client = await connect({ servers: cluster.addresses, timeoutMs: 15_000 });
    clients.push(client);
    const headers = new MessageHeaders({ "X-Trace": "1" });
    headers.append("x-trace", "2");
    await client.publish("h", "one", { headers });
    await client.publish("h", "two", { headers: [["k", "温度"]] });
    const subscription = await client.subscribe("h", { from: "earliest", drain: true });
    const got: ReceivedMessage[] = [];
    for await (const m of subscription) got.push(m);
    expect(got.map((m) => [m.headers.get("x-trace"), m.headers.getAll("X-TRACE"), m.headers.get("k")])).toEqual([
      ["1, 2", ["1", "2"], null],
      [null, [], "温度"],
    ]);
    expect(got.every((m) => typeof m.time === "number" && Math.abs((m.time as number) - Date.now()) < 60_000)).toBe(
      true,
    );
    expect(() => got[0]?.headers.append("a", "b")).toThrow("read-only");
  });

  test("headers over the limits are refused with the reason, and nothing is stored", async () => {
    cluster = await TestCluster.create({ nodes: 1 });
    await cluster.waitForLeader();
    const server = cluster.addresses[0] as string;
    const many = Array.from({ length: 33 }, (_, i) => ["-H", `k${i}=v`]).flat();
    const tooMany = await runMqraft(["pub", "t", "x", ...many, "--server", server]);
    expect([tooMany.code, tooMany.stderr]).toEqual([2, expect.stringContaining("at most 32 headers, not 33")]);
    const tooBig = await runMqraft(["pub", "t", "x", "-H", `k=${"v".repeat(4096)}`, "--server", server]);
    expect([tooBig.code, tooBig.stderr]).toEqual([2, expect.stringContaining("at most 4096 bytes")]);
    const client = await connect({ servers: [server], timeoutMs: 15_000 });
    clients.push(client);
    await expect(client.publish("t", "x", { headers: { "a:b": "1" } })).rejects.toThrow("header key");
    expect((await runMqraft(["topic", "ls", "--json", "--server", server])).stdout).toBe("");
  });

  test("`sub --from TIME` and `--since` start at the first message at or after the time, across retention, snapshots and a restart", async () => {
    cluster = await TestCluster.create({
      nodes: 3,
      argsFor: () => ["--snapshot-every", "10", "--retain-messages", "30"],
    });
    await cluster.waitForLeader();
    const [a] = cluster.addresses as [string, string, string];
    const client = await connect({ servers: [a], timeoutMs: 15_000 });
    clients.push(client);
    for (let i = 0; i < 20; i++) await client.publish("r", `early-${i}`);
    // the next messages are proposed after `boundary`, the earlier ones at or before the last acknowledgement
    const acked = Date.now();
    while (Date.now() <= acked + 2) await Bun.sleep(1);
    const boundary = Date.now();
    for (let i = 0; i < 20; i++) await client.publish("r", `late-${i}`);
    // 40 published, 30 kept: offsets 10 to 39; snapshots every 10 entries on each broker
    const firstOffset = async (server: string, ...flags: string[]) => {
      const r = await runMqraft(["sub", "r", ...flags, "--drain", "--json", "--server", server]);
      const lines = r.stdout
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line));
      return { code: r.code, first: lines[0]?.offset, data: lines[0]?.data, count: lines.length };
    };
    const at = new Date(boundary).toISOString();
    for (const server of cluster.addresses) {
      expect(await firstOffset(server, "--from", at)).toEqual({ code: 0, first: 20, data: "late-0", count: 20 });
      expect(await firstOffset(server, "--since", "1h")).toEqual({ code: 0, first: 10, data: "early-10", count: 30 });
    }
    // a broker restarted from its snapshot and log finds the same offset
    await cluster.stop(3, "SIGTERM");
    await cluster.restart(3);
    await cluster.waitForLeader();
    const restarted = cluster.broker(3).address;
    expect(await firstOffset(restarted, "--from", at)).toEqual({ code: 0, first: 20, data: "late-0", count: 20 });
    // a time after every message: nothing to print; an offset and a time together are refused
    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect(await firstOffset(restarted, "--from", future)).toEqual({
      code: 0,
      first: undefined,
      data: undefined,
      count: 0,
    });
    const both = await runMqraft(["sub", "r", "--from", at, "--since", "1h", "--server", a]);
    expect([both.code, both.stderr]).toEqual([2, expect.stringContaining("give --from or --since, not both")]);
    const bad = await runMqraft(["sub", "r", "--from", "2026-13-45", "--server", a]);
    expect([bad.code, bad.stderr]).toEqual([2, expect.stringContaining("an RFC 3339 time")]);
  });
});
