import { afterEach, describe, expect, test } from "bun:test";
import { connect, type MqraftClient, type ReceivedMessage } from "../../src/client/index.ts";
import { requireBinary, runMqraft } from "../support/binary.ts";
import { TestCluster } from "../support/cluster.ts";
import { waitFor } from "../support/wait.ts";

let cluster: TestCluster | undefined;
const clients: MqraftClient[] = [];
const processes: Bun.Subprocess[] = [];
afterEach(async () => {
  for (const p of processes.splice(0)) p.kill("SIGKILL");
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
  await cluster?.destroy();
  cluster = undefined;
});

interface Line {
  topic: string;
  offset: number;
  data: string;
}

/** `mqraft sub ... --json` in the background: the lines it printed so far, and its exit. */
function subProcess(args: string[]): { lines: Line[]; exited: Promise<number>; stderr: Promise<string> } {
  const proc = Bun.spawn([requireBinary(), "sub", ...args, "--json"], { stdout: "pipe", stderr: "pipe" });
  processes.push(proc);
  const lines: Line[] = [];
  const reading = (async () => {
    let rest = "";
    for await (const chunk of proc.stdout.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop() ?? "";
      for (const part of parts) lines.push(JSON.parse(part));
    }
  })();
  return { lines, exited: reading.then(() => proc.exited), stderr: new Response(proc.stderr).text() };
}

/** Per topic, the offsets in the order they came. */
function byTopic(lines: { topic: string; offset: number }[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const l of lines) {
    out[l.topic] ??= [];
    out[l.topic]?.push(l.offset);
  }
  return out;
}

describe("wildcard subscriptions on real brokers", () => {
  test("`sub 'orders.*'` and `sub 'orders.>'` get every matching topic, also those created after they subscribed, each in its own order", async () => {
    cluster = await TestCluster.create({ nodes: 3 });
    await cluster.waitForLeader();
    const [a, b, c] = cluster.addresses as [string, string, string];
    const publisher = await connect({ servers: [a], timeoutMs: 15_000 });
    clients.push(publisher);
    for (const topic of ["orders.eu", "orders.eu", "orders", "stock.eu"]) await publisher.publish(topic, topic);
    const star = subProcess(["orders.*", "--from", "earliest", "--count", "5", "--server", b]);
    const rest = subProcess(["orders.>", "--from", "earliest", "--count", "7", "--server", c]);
    await waitFor("both to print the two messages of orders.eu", () =>
      star.lines.length === 2 && rest.lines.length === 2 ? true : undefined,
    );
    // topics created after both subscribed
    for (const topic of ["orders.us", "orders.eu.created", "stock.us", "orders.us", "orders.eu", "orders.eu.created"])
      await publisher.publish(topic, topic);
    const deadline = setTimeout(() => {
      for (const p of processes) p.kill("SIGKILL");
    }, 20_000);
    const [starCode, restCode] = await Promise.all([star.exited, rest.exited]);
    clearTimeout(deadline);
    expect({ starCode, restCode, stderr: [await star.stderr, await rest.stderr] }).toEqual({
      starCode: 0,
      restCode: 0,
      stderr: ["", ""],
    });
    expect(byTopic(star.lines)).toEqual({ "orders.eu": [0, 1, 2], "orders.us": [0, 1] });
    expect(byTopic(rest.lines)).toEqual({ "orders.eu": [0, 1, 2], "orders.us": [0, 1], "orders.eu.created": [0, 1] });
    // the topic is in every delivery, and the data is what was published to it
    for (const l of [...star.lines, ...rest.lines]) expect(l.data).toBe(l.topic);
  });

  test("a pattern stream that loses its broker resumes on another with every matching topic, new ones from offset 0", async () => {
    cluster = await TestCluster.create({ nodes: 3 });
    await cluster.waitForLeader();
    const [a, b, c] = cluster.addresses as [string, string, string];
    const publisher = await connect({ servers: [a, c], timeoutMs: 15_000 });
    const reader = await connect({ servers: [b, a, c], timeoutMs: 15_000, resumeTimeoutMs: 30_000 });
    clients.push(publisher, reader);
    await publisher.publish("jobs.old", "0");
    const subscription = await reader.subscribe("jobs.>", { from: "latest" });
    const got: ReceivedMessage[] = [];
    void (async () => {
      for await (const m of subscription) got.push(m);
    })().catch(() => {});
    await publisher.publish("jobs.old", "1");
    await publisher.publish("jobs.a", "0");
    await waitFor("the first two", () => (got.length === 2 ? true : undefined));
    await cluster.stop(2);
    for (const topic of ["jobs.b.x", "jobs.a", "jobs.old", "jobs.b.x", "other"]) await publisher.publish(topic, topic);
    await waitFor("every matching message", () => (got.length === 6 ? true : undefined), { timeoutMs: 30_000 });
    await publisher.publish("jobs.c", "last");
    await waitFor("the one after", () => (got.length === 7 ? true : undefined), { timeoutMs: 30_000 });
    expect(byTopic(got)).toEqual({ "jobs.old": [1, 2], "jobs.a": [0, 1], "jobs.b.x": [0, 1], "jobs.c": [0] });
  });

  test("a durable subscription to `orders.*` keeps a position per matching topic, also for topics created while it was away", async () => {
    cluster = await TestCluster.create({ nodes: 3 });
    await cluster.waitForLeader();
    const [a, b] = cluster.addresses as [string, string, string];
    const pub = (topic: string) => runMqraft(["pub", topic, topic, "--server", a]);
    for (const topic of ["orders.eu", "orders.us", "orders.eu"]) expect((await pub(topic)).code).toBe(0);
    const sub = () =>
      runMqraft(["sub", "orders.*", "--durable", "billing", "--from", "earliest", "--drain", "--json", "--server", b]);
    const first = await sub();
    expect(first.code).toBe(0);
    const parse = (out: string) =>
      out
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Line);
    expect(byTopic(parse(first.stdout))).toEqual({ "orders.eu": [0, 1], "orders.us": [0] });
    for (const topic of ["orders.jp", "orders.eu", "orders.jp.tokyo", "orders.jp"])
      expect((await pub(topic)).code).toBe(0);
    const second = await sub();
    expect(second.code).toBe(0);
    expect(byTopic(parse(second.stdout))).toEqual({ "orders.jp": [0, 1], "orders.eu": [2] });
    const info = await runMqraft(["durable", "info", "billing", "--json", "--server", a]);
    expect(
      JSON.parse(info.stdout).topics.map((t: { topic: string; position: number }) => [t.topic, t.position]),
    ).toEqual([
      ["orders.eu", 3],
      ["orders.us", 1],
      ["orders.jp", 2],
    ]);
  });
});
