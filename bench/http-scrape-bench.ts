/**
 * What the HTTP port costs the publish path (not a test): `mqraft bench pub` (window 1000, 128 B) against a
 * 3-broker cluster started without --http-port, and against one started with it while every broker's /metrics
 * is scraped once a second. The two kinds of cluster alternate, `rounds` times each, so that load from anything
 * else on the machine falls on both; medians are printed. BASE_BIN=path adds a third kind: another build's
 * binary (e.g. one without the counters) with no HTTP port.
 *   make build && bun bench/http-scrape-bench.ts [messages] [rounds]
 */
import { requireBinary } from "../test/support/binary.ts";
import { TestCluster } from "../test/support/cluster.ts";
import { freePorts } from "../test/support/ports.ts";

const messages = Number(process.argv[2] ?? 200_000);
const rounds = Number(process.argv[3] ?? 3);
type Kind = "no HTTP port" | "HTTP, scraped 1/s" | "BASE_BIN, no HTTP port";

async function run(kind: Kind): Promise<{ perSec: number; scrapes: number }> {
  const http = await freePorts(3);
  const withHttp = kind === "HTTP, scraped 1/s";
  const saved = process.env.MQRAFT_BIN;
  if (kind === "BASE_BIN, no HTTP port") process.env.MQRAFT_BIN = process.env.BASE_BIN;
  const cluster = await TestCluster.create({
    nodes: 3,
    heartbeatMs: 100,
    electionMs: 1000,
    argsFor: (id) => (withHttp ? ["--http-port", String(http[id - 1])] : []),
  });
  process.env.MQRAFT_BIN = saved;
  let scrapes = 0;
  const scraper = withHttp
    ? setInterval(() => {
        for (const port of http) {
          void fetch(`http://127.0.0.1:${port}/metrics`)
            .then((r) => r.text())
            .then(() => scrapes++);
        }
      }, 1000)
    : undefined;
  try {
    await cluster.waitForLeader(20_000);
    const proc = Bun.spawn(
      [
        requireBinary(),
        "bench",
        "pub",
        "bench",
        "--msgs",
        String(messages),
        "--window",
        "1000",
        "--json",
        "--server",
        cluster.addresses.join(","),
      ],
      { stdout: "pipe", stderr: "inherit" },
    );
    const out = await new Response(proc.stdout).text();
    await proc.exited;
    const result = JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as { msgsPerSec?: number };
    if (result.msgsPerSec === undefined) throw new Error(`bench pub printed no msgsPerSec: ${out}`);
    return { perSec: result.msgsPerSec, scrapes };
  } finally {
    if (scraper !== undefined) clearInterval(scraper);
    await cluster.destroy();
  }
}

const kinds: Kind[] = ["no HTTP port", "HTTP, scraped 1/s"];
if (process.env.BASE_BIN) kinds.push("BASE_BIN, no HTTP port");
const results = new Map<Kind, number[]>(kinds.map((k) => [k, []]));
for (let round = 1; round <= rounds; round++) {
  for (const kind of kinds) {
    const { perSec, scrapes } = await run(kind);
    results.get(kind)!.push(perSec);
    console.log(`round ${round}, ${kind}: ${perSec.toFixed(0)} msgs/s${scrapes > 0 ? ` (${scrapes} scrapes)` : ""}`);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const base = median(results.get("no HTTP port")!);
for (const kind of kinds) {
  const m = median(results.get(kind)!);
  console.log(`${kind}: median ${m.toFixed(0)} msgs/s (${((m / base - 1) * 100).toFixed(1)} % against no HTTP port)`);
}
