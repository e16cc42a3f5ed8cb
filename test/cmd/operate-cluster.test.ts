import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { MemberStatus } from "../../src/client/index.ts";
import { runMqraft } from "../support/binary.ts";
import { TestCluster } from "../support/cluster.ts";
import { waitFor } from "../support/wait.ts";
import { probeStatus } from "../support/wire-probe.ts";

/** Operating a 3-broker cluster with the CLI: transfer, status with a dead member, leave of the leader, rejoin. */

let cluster: TestCluster;
let servers: string;
beforeAll(async () => {
  cluster = await TestCluster.create({ nodes: 3 });
  await cluster.waitForLeader();
  servers = cluster.addresses.join(",");
});
afterAll(async () => {
  await cluster.destroy();
});

const mqraft = (args: string[], timeoutMs = 10_000) => runMqraft([...args, "--server", servers], { timeoutMs });

/** status --json prints the client's ClusterStatus, with each member's lag. */
type JsonNode = MemberStatus & { lag: number | null };

async function statusJson(): Promise<{ code: number; leader: number | null; nodes: JsonNode[]; stderr: string }> {
  const r = await mqraft(["status", "--json"]);
  if (r.stdout.trim() === "") throw new Error(`status printed nothing (exit ${r.code}): ${r.stderr}`);
  return { code: r.code, stderr: r.stderr, ...JSON.parse(r.stdout) };
}

describe("operating a cluster", () => {
  test("leader --transfer-to the node that already leads says so and exits 0 at once (defect 2)", async () => {
    const leader = await cluster.waitForLeader();
    // the old code asked the leader to hand over to itself and failed with NO_LEADER after 15 s
    const r = await mqraft(["leader", "--transfer-to", String(leader)], 5_000);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
      code: 0,
      stdout: `node ${leader} is already the leader\n`,
      stderr: "",
    });
    const json = await mqraft(["leader", "--transfer-to", String(leader), "--json"], 5_000);
    expect(JSON.parse(json.stdout)).toMatchObject({ leader, changed: false });
  });

  test("status shows a dead member as unknown and unreachable, exits 3, and gives version, uptime and disk (defect 4)", async () => {
    const leader = await cluster.waitForLeader();
    const dead = cluster.brokers.find((b) => b.id !== leader)!.id;
    await cluster.stop(dead, "SIGKILL");
    try {
      const status = await waitFor("status to see the dead member as unreachable", async () => {
        const s = await statusJson();
        return s.nodes.find((n) => n.id === dead)?.reachable === false ? s : undefined;
      });
      expect(status.code).toBe(3);
      expect(status.leader).toBe(leader);
      // the old code showed it as a follower with term 0 and commit 0
      expect(status.nodes.find((n) => n.id === dead)).toMatchObject({
        role: "unknown",
        voter: true,
        reachable: false,
        term: null,
        commitIndex: null,
        lastApplied: null,
        version: null,
        uptimeMs: null,
        diskBytes: null,
      });
      const pkg = await Bun.file(new URL("../../package.json", import.meta.url)).json();
      for (const n of status.nodes.filter((m) => m.id !== dead)) {
        expect(n.reachable).toBe(true);
        expect(n.version).toBe(pkg.version);
        expect(n.uptimeMs).toBeGreaterThan(0);
        expect(n.diskBytes).toBeGreaterThan(0);
      }
      const table = await mqraft(["status"]);
      expect(table.code).toBe(3);
      const row = table.stdout.split("\n").find((line) => line.trim().startsWith(`${dead} `));
      expect(row?.trim().split(/\s+/).slice(2, 9)).toEqual(["-", "yes", "no", "-", "-", "-", "-"]);
    } finally {
      cluster.start(dead);
    }
    await waitFor("every member reachable again", async () => {
      const s = await statusJson();
      return s.code === 0 ? true : undefined;
    });
  });

  test("leave of the leader hands leadership over first; join with the same id and data folder brings it back (defects 5, 6)", async () => {
    const leader = await cluster.waitForLeader();
    const old = cluster.broker(leader);
    const r = await mqraft(["leave", "--id", String(leader)], 20_000);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    // the moment leave returns a leader is in place; the old code left the cluster leaderless for an election
    const views = await Promise.all(
      cluster.brokers.filter((b) => b.id !== leader).map((b) => probeStatus(b.address, 1000)),
    );
    const leaders = views.map((v) => v?.leader ?? 0);
    expect(
      leaders.some((l) => l !== 0 && l !== leader),
      `leaders seen right after leave: ${leaders}`,
    ).toBe(true);
    expect(await old.proc?.exited).toBe(0);

    // back with `mqraft join`, the same id and its old data folder
    old.joinVia = cluster.brokers.filter((b) => b.id !== leader).map((b) => b.address);
    const logBefore = cluster.log(leader).length;
    cluster.start(leader);
    await waitFor(
      `node ${leader} a reachable voter again`,
      async () => {
        const s = await statusJson();
        const n = s.nodes.find((m) => m.id === old.id);
        return s.code === 0 && n?.voter && n.reachable ? true : undefined;
      },
      { timeoutMs: 20_000 },
    ).catch((e) => {
      throw new Error(`${e}\n${cluster.tails()}`);
    });
    const joinLog = cluster.log(leader).slice(logBefore);
    expect(joinLog).not.toContain("Removed from the cluster; stopping");
    expect(old.proc?.exitCode).toBe(null);
  }, 60_000);

  test("status without a leader exits 1 and says so (defect 4)", async () => {
    const leader = await cluster.waitForLeader();
    const others = cluster.brokers.filter((b) => b.id !== leader).map((b) => b.id);
    for (const id of others) await cluster.stop(id, "SIGKILL");
    const status = await waitFor("status to see no leader", async () => {
      const s = await statusJson();
      return s.leader === null ? s : undefined;
    });
    expect(status.code).toBe(1);
    const table = await mqraft(["status"]);
    expect(table.code).toBe(1);
    expect(table.stdout).toStartWith("no leader");
  });
});
