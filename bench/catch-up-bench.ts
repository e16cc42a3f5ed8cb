/**
 * Catch-up speed of a joining broker (not a test): a 3-broker cluster of the compiled binary takes N pipelined
 * publishes of B bytes, snapshotting every S entries so that the joiner gets a snapshot plus the retained log; then
 * broker 4 joins and the time from its start to the moment it has applied the leader's whole log is measured. The
 * figure is the size of the joiner's data folder afterwards (log segments and snapshot) over that time.
 *   make build && bun bench/catch-up-bench.ts [messages=100000] [bytes=1024] [snapshotEvery=20000]
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { connect } from "../src/client/index.ts";
import { TestCluster } from "../test/support/cluster.ts";
import { waitFor } from "../test/support/wait.ts";
import { probeStatus } from "../test/support/wire-probe.ts";

const messages = Number(process.argv[2] ?? 100_000);
const bytes = Number(process.argv[3] ?? 1024);
const snapshotEvery = Number(process.argv[4] ?? 20_000);

function folderBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? folderBytes(path) : statSync(path).size;
  }
  return total;
}

const cluster = await TestCluster.create({
  nodes: 3,
  argsFor: () => ["--snapshot-every", String(snapshotEvery), "--log-level", "info"],
});
try {
  const leader = await cluster.waitForLeader(20_000);
  const client = await connect({ servers: cluster.addresses, window: 1000 });
  const payload = new Uint8Array(bytes).fill(97);
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < messages; i++) {
    pending.push(client.publish(`catch-up-${i % 4}`, payload));
    if (pending.length >= 1000) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  await client.close();
  const target =
    (await probeStatus(cluster.broker(leader).address))?.nodes.find((n) => n.id === leader)?.lastApplied ?? 0;

  // How long the leader keeps a client waiting meanwhile: it packs and sends the snapshot and the log.
  let catchingUp = true;
  let slowestAnswer = 0;
  const watchLeader = (async () => {
    while (catchingUp) {
      const asked = performance.now();
      await probeStatus(cluster.broker(leader).address, 5000);
      slowestAnswer = Math.max(slowestAnswer, performance.now() - asked);
      await Bun.sleep(20);
    }
  })();
  const started = performance.now();
  const joiner = await cluster.addJoiner(4);
  await waitFor(
    "the joiner to apply the whole log",
    async () => {
      const view = await probeStatus(joiner.address, 500);
      const self = view?.nodes.find((n) => n.id === 4);
      return self !== undefined && (self.lastApplied ?? 0) >= target ? true : undefined;
    },
    { timeoutMs: 300_000, intervalMs: 20 },
  );
  const seconds = (performance.now() - started) / 1000;
  catchingUp = false;
  await watchLeader;
  const transferred = folderBytes(joiner.dataDir);
  console.log(`leader ${leader}`);
  console.log(
    `catch-up of a joining broker: ${messages} messages of ${bytes} B (log index ${target}), snapshot every ${snapshotEvery}: ` +
      `${(transferred / 1e6).toFixed(1)} MB in ${seconds.toFixed(2)} s = ${(transferred / 1e6 / seconds).toFixed(1)} MB/s ` +
      `(${Math.round(target / seconds)} entries/s), from process start to the whole log applied`,
  );
  console.log(
    `the leader's slowest answer to a status request meanwhile (one every 20 ms): ${slowestAnswer.toFixed(0)} ms`,
  );
} finally {
  // A graceful stop lets brokers run under `bun --cpu-prof` (MQRAFT_BIN pointing at a wrapper) write their profiles.
  if (process.env.STOP_GRACEFULLY) for (const id of [4, 3, 2, 1]) await cluster.stop(id, "SIGTERM");
  if (process.env.SHOW_LOG)
    for (const id of [1, 2, 3, 4])
      console.log(
        cluster
          .log(id)
          .split("\n")
          .filter((l) => !l.includes("Founding"))
          .slice(0, 40)
          .join("\n"),
      );
  await cluster.destroy();
}
