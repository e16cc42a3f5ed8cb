/**
 * Figures for a 3-broker cluster of the compiled binary on loopback (not a test):
 * publish throughput with 1 and with 1,000 publishes in flight (128-byte payloads), and failover
 * time after kill -9 of the leader (from the kill to the next acknowledged publish, median of 5).
 *   make build && bun bench/cluster-bench.ts [messages]
 */
import { connect } from "../src/client/index.ts";
import { TestCluster } from "../test/support/cluster.ts";

const messages = Number(process.argv[2] ?? 20_000);
const payload = new Uint8Array(128).fill(97);

async function throughput(
  cluster: TestCluster,
  window: number,
  count: number,
): Promise<{ perSec: number; p50: number; p99: number }> {
  const client = await connect({ servers: cluster.addresses, window });
  const latencies: number[] = [];
  const start = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      const t = performance.now();
      await client.publish(`bench-${window}`, payload);
      latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: window }, worker));
  const seconds = (performance.now() - start) / 1000;
  await client.close();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { perSec: count / seconds, p50: at(0.5), p99: at(0.99) };
}

async function failover(cluster: TestCluster): Promise<number> {
  const leader = await cluster.waitForLeader();
  const client = await connect({ servers: cluster.addresses, timeoutMs: 30_000 });
  await client.publish("failover", "warm-up");
  const killedAt = performance.now();
  await cluster.stop(leader, "SIGKILL");
  await client.publish("failover", "after the kill");
  const ms = performance.now() - killedAt;
  await client.close();
  cluster.start(leader);
  await cluster.waitForLeader();
  return ms;
}

const cluster = await TestCluster.create({ nodes: 3, heartbeatMs: 100, electionMs: 1000 });
try {
  await cluster.waitForLeader(20_000);
  const sync = await throughput(cluster, 1, Math.min(messages, 5_000));
  console.log(
    `publish, 1 in flight:     ${sync.perSec.toFixed(0)} msgs/s, latency p50 ${sync.p50.toFixed(2)} ms, p99 ${sync.p99.toFixed(2)} ms`,
  );
  const piped = await throughput(cluster, 1000, messages * 5);
  console.log(
    `publish, 1,000 in flight: ${piped.perSec.toFixed(0)} msgs/s (${((piped.perSec * 128) / 1e6).toFixed(1)} MB/s of payload)`,
  );
  const times: number[] = [];
  for (let i = 0; i < 5; i++) times.push(await failover(cluster));
  times.sort((a, b) => a - b);
  console.log(
    `failover after kill -9 of the leader (--election-ms 1000): median ${times[2]?.toFixed(0)} ms of ${times.map((t) => t.toFixed(0)).join(", ")}`,
  );
} finally {
  await cluster.destroy();
}
