import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "../support/wait.ts";
import { probeStatus } from "../support/wire-probe.ts";
import { ChaosCluster } from "./chaos-cluster.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

test("a leader cut off through the proxies alone loses its followers to a new leader, and rejoins once healed", async () => {
  const dir = mkdtempSync(join(tmpdir(), "mqraft-chaos-cluster-"));
  const cluster = await ChaosCluster.create(dir, 3, 0);
  cleanups.push(async () => {
    await cluster.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  const old = await waitFor("a first leader", () => cluster.leader(), { timeoutMs: 15_000 });
  for (const other of cluster.founderIds) if (other !== old) cluster.setBetween(old, other, { kind: "blackhole" });
  const others = cluster.founderIds.filter((id) => id !== old);
  // what the others said last, for the error: this wait failed 3 times in some hundred loaded suite runs
  let said = "nothing";
  const fresh = await waitFor(
    `the brokers other than ${old} to elect one of themselves`,
    async () => {
      const views = await Promise.all(others.map((id) => probeStatus(cluster.realAddress(id), 300)));
      said = views
        .map((v, i) => {
          const own = v?.nodes.find((n) => n.id === others[i]);
          return `broker ${others[i]}: ${v === undefined ? "no answer" : `leader ${v.leader}, ${own?.role} in term ${own?.term}`}`;
        })
        .join("; ");
      const leaders = new Set(views.map((v) => v?.leader));
      const [leader] = leaders;
      return leaders.size === 1 && leader !== undefined && leader !== 0 && leader !== old ? leader : undefined;
    },
    { timeoutMs: 10_000 },
  ).catch((e: unknown) => {
    const tails = cluster.brokers.map(
      (b) => `--- broker ${b.id}\n${readFileSync(b.logPath, "utf8").trimEnd().split("\n").slice(-25).join("\n")}`,
    );
    throw new Error(`${e instanceof Error ? e.message : String(e)}\nlast said: ${said}\n${tails.join("\n")}`);
  });
  expect(others).toContain(fresh);
  cluster.healNetwork();
  // Once healed, whoever leads, the cut-off broker must agree with the others on it.
  await waitFor(
    `broker ${old} to agree with the others on a leader`,
    async () => {
      const views = await Promise.all(cluster.founderIds.map((id) => probeStatus(cluster.realAddress(id), 300)));
      const leaders = new Set(views.map((v) => v?.leader));
      return leaders.size === 1 && !leaders.has(undefined) && !leaders.has(0) ? true : undefined;
    },
    { timeoutMs: 10_000 },
  );
});
