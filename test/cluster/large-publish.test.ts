/**
 * A large publish on a slow link between brokers must not cost the leader its leadership: the followers must keep
 * hearing the leader's heartbeats while the append carrying the large entry is still on its way. Three real brokers,
 * each reached only through a proxy that carries the bytes between brokers at 1 MB/s (a WAN link), so the append of
 * a 2 MB message takes about 2 s to cross, four times the election timeout.
 *
 * What is slow here is the link, not the brokers: a 15 MB message (at 10 MB/s) also cost each broker 100-350 ms of
 * synchronous encoding and decoding per copy, and on a loaded machine those turns alone outlasted the election
 * timeout (event loops measured blocked 300-850 ms, then an election), whatever the link did.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "../../src/client/index.ts";
import { ChaosCluster, ELECTION_MS } from "../chaos/chaos-cluster.ts";
import { waitFor } from "../support/wait.ts";
import { probeStatus } from "../support/wire-probe.ts";

const MESSAGE_BYTES = 2_000_000;
const LINK_BYTES_PER_SECOND = 1_000_000;

const dir = mkdtempSync(join(tmpdir(), "mqraft-large-publish-"));
let cluster: ChaosCluster | undefined;
afterAll(async () => {
  await cluster?.destroy();
  if (!process.env.MQRAFT_KEEP) rmSync(dir, { recursive: true, force: true });
});

test("a 2 MB publish over a 1 MB/s link between brokers commits without an election", async () => {
  expect((MESSAGE_BYTES / LINK_BYTES_PER_SECOND) * 1000).toBeGreaterThanOrEqual(4 * ELECTION_MS);
  const c = await ChaosCluster.create(dir, 3, 0);
  cluster = c;
  const leader = await waitFor("a first leader", () => c.leader(), { timeoutMs: 15_000 });
  const before = await waitFor("the leader's status", () => probeStatus(c.realAddress(leader), 1_000));
  const committedBefore = before.nodes.find((n) => n.id === leader)?.commitIndex ?? 0;
  for (const a of c.founderIds)
    for (const b of c.founderIds)
      if (a < b) c.setBetween(a, b, { kind: "rate", bytesPerSecond: LINK_BYTES_PER_SECOND });

  const client = await connect({ servers: [c.broker(leader).front.address], timeoutMs: 30_000 });
  try {
    const payload = new Uint8Array(MESSAGE_BYTES).fill(7);
    const published = await client.publish("large", payload);
    expect(published.offset).toBe(0);
  } finally {
    await client.close();
  }
  // Every broker applies it; none of them saw another leader or a later term on the way.
  const views = await waitFor(
    "every broker to apply the large message",
    async () => {
      const all = await Promise.all(c.founderIds.map((id) => probeStatus(c.realAddress(id), 1_000)));
      if (all.some((v) => v === undefined)) return undefined;
      // A broker's own row is the one with its version.
      const applied = all.map((v) => v?.nodes.find((n) => n.version !== undefined)?.lastApplied ?? 0);
      return applied.every((a) => a >= committedBefore + 1) ? all : undefined;
    },
    { timeoutMs: 20_000 },
  );
  expect(views.map((v) => [v?.leader, v?.term])).toEqual(c.founderIds.map(() => [leader, before.term]));
}, 90_000);
