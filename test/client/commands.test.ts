import { afterEach, describe, expect, test } from "bun:test";
import { freePorts } from "../support/ports.ts";
import { waitFor } from "../support/wait.ts";
import { CommandProcess, runCommand } from "./command-process.ts";
import { FakeCluster } from "./fake-cluster.ts";

let cluster: FakeCluster | undefined;
const running: CommandProcess[] = [];

afterEach(() => {
  for (const proc of running.splice(0)) proc.kill();
  cluster?.stop();
  cluster = undefined;
});

function start(name: string, args: string[]): CommandProcess {
  const proc = new CommandProcess(name, args);
  running.push(proc);
  return proc;
}

const lines = (out: string): string[] => out.split("\n").filter((l) => l.length > 0);
const stored = (c: FakeCluster, topic: string): number[][] => (c.log.get(topic) ?? []).map((d) => [...d]);

describe("mqraft pub", () => {
  test("one message: printed offset, exit 0; a follower's address is enough", async () => {
    cluster = await FakeCluster.start(3);
    cluster.setLeader(3);
    const r = await runCommand("pub", ["news", "hello world", "--server", cluster.node(1).address]);
    expect(r).toEqual({ code: 0, stdout: "published news #0\n", stderr: "" });
    expect(stored(cluster, "news")).toEqual([[...new TextEncoder().encode("hello world")]]);
  });

  test("stdin: one message per line, bytes unchanged, one JSON ack per line in input order", async () => {
    cluster = await FakeCluster.start(1);
    const input = new Uint8Array([0x61, 0x0a, 0xff, 0xfe, 0x0a, 0x0a, 0x62]);
    const r = await runCommand("pub", ["t", "--json", "--server", cluster.addresses[0]!], input);
    expect(r.code).toBe(0);
    expect(lines(r.stdout).map((l) => JSON.parse(l))).toEqual([0, 1, 2, 3].map((offset) => ({ topic: "t", offset })));
    expect(stored(cluster, "t")).toEqual([[0x61], [0xff, 0xfe], [], [0x62]]);
  });

  test("stdin is streamed: a line's ack prints before the input ends", async () => {
    cluster = await FakeCluster.start(1);
    const proc = start("pub", ["t", "--server", cluster.addresses[0]!]);
    proc.write("first\n");
    await waitFor("the first ack on stdout", () => (proc.stdout.includes("published t #0") ? true : undefined));
    proc.write("second\n");
    await waitFor("the second ack on stdout", () => (proc.stdout.includes("published t #1") ? true : undefined));
    proc.endInput();
    const r = await proc.finished();
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual(["published t #0", "published t #1"]);
  });

  test("5,000 lines from stdin: all acknowledged in order", async () => {
    cluster = await FakeCluster.start(1);
    const input = Array.from({ length: 5000 }, (_, i) => `line ${i}\n`).join("");
    const r = await runCommand("pub", ["t", "--json", "--server", cluster.addresses[0]!], input);
    expect(r.code).toBe(0);
    expect(lines(r.stdout).map((l) => JSON.parse(l).offset)).toEqual(Array.from({ length: 5000 }, (_, i) => i));
  });

  test("no leader within --timeout: exit 1 with one line naming NO_LEADER", async () => {
    cluster = await FakeCluster.start(2);
    cluster.setLeader(0);
    const r = await runCommand("pub", ["t", "x", "--timeout", "0.3", "--server", cluster.addresses.join(",")]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toContain("NO_LEADER");
  });

  test("nobody listening: exit 1 naming the address", async () => {
    const [port] = await freePorts(1);
    const r = await runCommand("pub", ["t", "x", "--timeout", "0.3", "--server", `127.0.0.1:${port}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`127.0.0.1:${port}`);
  });

  test("a bad flag: exit 2 with one line naming it", async () => {
    const r = await runCommand("pub", ["t", "x", "--timeout", "never", "--server", "127.0.0.1:1"]);
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toEqual([
      'mqraft: --timeout "never": expected a duration like "500ms", "5s" or "10m" (a bare number is seconds)',
    ]);
  });
});

describe("mqraft sub", () => {
  test("--count: prints N messages in plain form and exits 0", async () => {
    cluster = await FakeCluster.start(1);
    for (const text of ["Hello", "there", "more"]) cluster.store("topic1", new TextEncoder().encode(text));
    const r = await runCommand("sub", [
      "topic1",
      "--from",
      "earliest",
      "--count",
      "2",
      "--server",
      cluster.addresses[0]!,
    ]);
    expect(r).toEqual({ code: 0, stdout: "topic1 #0  Hello\ntopic1 #1  there\n", stderr: "" });
  });

  test("--drain --json over two topics: everything committed at the start, binary as data_b64, then exit 0", async () => {
    cluster = await FakeCluster.start(1);
    cluster.store("a", new TextEncoder().encode("text"));
    cluster.store("b", new Uint8Array([0xff, 0x00]));
    cluster.store("a", new TextEncoder().encode("more"));
    const r = await runCommand("sub", [
      "a",
      "b",
      "--from",
      "earliest",
      "--drain",
      "--json",
      "--server",
      cluster.addresses[0]!,
    ]);
    expect(r.code).toBe(0);
    const got = lines(r.stdout).map((l) => JSON.parse(l));
    expect(got.filter((m) => m.topic === "a")).toEqual([
      { topic: "a", offset: 0, data: "text" },
      { topic: "a", offset: 1, data: "more" },
    ]);
    expect(got.filter((m) => m.topic === "b")).toEqual([{ topic: "b", offset: 0, data_b64: "/wA=" }]);
  });

  test("live messages print as they come; SIGINT and SIGTERM end it with exit 0", async () => {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      cluster = await FakeCluster.start(1);
      const proc = start("sub", ["t", "--server", cluster.addresses[0]!]);
      await waitFor("the subscription to reach the broker", () =>
        cluster!.count("subscribe") === 1 ? true : undefined,
      );
      cluster.store("t", new TextEncoder().encode("live"));
      await waitFor("the live message on stdout", () => (proc.stdout.includes("t #0  live") ? true : undefined));
      proc.signal(signal);
      const r = await proc.finished();
      expect({ signal, code: r.code, stderr: r.stderr }).toEqual({ signal, code: 0, stderr: "" });
      cluster.stop();
    }
  });

  test("--durable: printed messages are acked, and the next run starts after them", async () => {
    cluster = await FakeCluster.start(1);
    for (let i = 0; i < 5; i++) cluster.store("jobs", new TextEncoder().encode(`job${i}`));
    const server = ["--server", cluster.addresses[0]!];
    const first = await runCommand("sub", [
      "jobs",
      "--durable",
      "worker",
      "--from",
      "earliest",
      "--count",
      "3",
      ...server,
    ]);
    expect(lines(first.stdout)).toEqual(["jobs #0  job0", "jobs #1  job1", "jobs #2  job2"]);
    expect(cluster.durables.get("worker")?.positions.get("jobs")).toBe(3);
    const second = await runCommand("sub", ["jobs", "--durable", "worker", "--drain", ...server]);
    expect(second.code).toBe(0);
    expect(lines(second.stdout)).toEqual(["jobs #3  job3", "jobs #4  job4"]);
  });

  test("--from abc: exit 2 naming the flag", async () => {
    const r = await runCommand("sub", ["t", "--from", "abc", "--server", "127.0.0.1:1"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--from");
  });
});

describe("mqraft status", () => {
  test("--json: each member's own answer, in the shape of docs/cli.md", async () => {
    cluster = await FakeCluster.start(3);
    cluster.setLeader(2);
    cluster.store("t", new Uint8Array([1]));
    const r = await runCommand("status", ["--json", "--server", cluster.node(1).address]);
    expect(r.code).toBe(0);
    const status = JSON.parse(r.stdout);
    expect(status.leader).toBe(2);
    expect(status.term).toBe(cluster.term);
    expect(status.nodes.map((n: { id: number; role: string }) => [n.id, n.role])).toEqual([
      [1, "follower"],
      [2, "leader"],
      [3, "follower"],
    ]);
    expect(Object.keys(status.nodes[0])).toEqual([
      "id",
      "address",
      "role",
      "voter",
      "reachable",
      "term",
      "commitIndex",
      "lastApplied",
      "lag",
      "version",
      "uptimeMs",
      "diskBytes",
      "diskFreeBytes",
      "diskAlarm",
    ]);
    // a follower answered first; then every member was asked for itself
    expect(cluster.count("status")).toBe(4);
  });

  test("plain: a heading and a table with the leader marked", async () => {
    cluster = await FakeCluster.start(2);
    const r = await runCommand("status", ["--server", cluster.addresses[0]!]);
    expect(r.code).toBe(0);
    const out = lines(r.stdout);
    expect(out[0]).toBe(`leader: node 1 at ${cluster.node(1).address}, term 1`);
    expect(out[1]).toMatch(
      /^ +ID +ADDRESS +ROLE +VOTER +REACHABLE +TERM +COMMIT +APPLIED +LAG +VERSION +UPTIME +DISK$/,
    );
    expect(out[2]).toMatch(/^\* +1 +127\.0\.0\.1:\d+ +leader +yes +yes +1 +0 +0 +0 +- +- +-$/);
    expect(out[3]).toMatch(/^ +2 +127\.0\.0\.1:\d+ +follower/);
  });
});
