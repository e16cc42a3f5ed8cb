import { afterEach, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { requireBinary, runMqraft } from "../support/binary.ts";
import { TestCluster } from "../support/cluster.ts";
import { freePorts } from "../support/ports.ts";
import { waitFor } from "../support/wait.ts";
import { probeStatus } from "../support/wire-probe.ts";

const clusters: TestCluster[] = [];
const processes: Subprocess[] = [];
afterEach(async () => {
  for (const p of processes.splice(0)) p.kill("SIGKILL");
  await Promise.all(clusters.splice(0).map((c) => c.destroy()));
});

describe("the demo's dynamic membership, through a manager", () => {
  test("2 brokers and a manager; a subscriber through the manager; a third broker joins through it; a publish reaches the subscriber; the joined broker dies and the leader reports it unreachable", async () => {
    const [managerPort] = await freePorts(1);
    const manager = `127.0.0.1:${managerPort}`;
    const cluster = await TestCluster.create({ nodes: 2, start: false, argsFor: () => ["--manager", manager] });
    clusters.push(cluster);
    const managerProc = Bun.spawn([requireBinary(), "manager", "--port", String(managerPort)], {
      stdout: "ignore",
      stderr: "ignore",
    });
    processes.push(managerProc);
    for (const b of cluster.brokers) cluster.start(b.id);
    await cluster.waitForLeader();

    const sub = Bun.spawn(
      [requireBinary(), "sub", "topic1", "--from", "earliest", "--count", "1", "--json", "--server", manager],
      { stdout: "pipe", stderr: "pipe" },
    );
    processes.push(sub);
    const subOut = new Response(sub.stdout).text();

    const joined = await cluster.addJoiner(3, [manager]);
    await waitFor(
      "broker 3 to be a reachable voter",
      async () => {
        const s = await probeStatus(cluster.broker(1).address);
        return s?.nodes.some((n) => n.id === 3 && n.voter && n.reachable) ? true : undefined;
      },
      { timeoutMs: 15_000 },
    );

    const pub = await runMqraft(["pub", "topic1", "Hello, world!", "--server", manager]);
    expect(pub.code).toBe(0);
    expect(await sub.exited).toBe(0);
    expect(JSON.parse((await subOut).trim())).toEqual({
      topic: "topic1",
      offset: 0,
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      data: "Hello, world!",
    });

    await cluster.stop(joined.id, "SIGKILL");
    const leader = await cluster.waitForLeader();
    await waitFor("the leader to report broker 3 unreachable", async () => {
      const s = await probeStatus(cluster.broker(leader).address);
      return s?.nodes.some((n) => n.id === 3 && !n.reachable) ? true : undefined;
    });
    expect(cluster.log(leader)).toContain(`Node leave the cluster: ${joined.address}`);
  });

  test("joining with another cluster's data folder is refused with a clear error", async () => {
    const a = await TestCluster.create({ nodes: 1 });
    const b = await TestCluster.create({ nodes: 1 });
    clusters.push(a, b);
    await a.waitForLeader();
    await b.waitForLeader();
    await a.stop(1, "SIGTERM");
    const [port] = await freePorts(1);
    const r = await runMqraft(
      ["join", "--id", "5", "--port", String(port), "--data", a.broker(1).dataDir, "--server", b.broker(1).address],
      { timeoutMs: 20_000 },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("belongs to another cluster");
  });
});
