import { expect, test } from "bun:test";
import { join } from "node:path";
import { brokerMetricsText } from "../../src/metrics/broker-metrics.ts";
import { EventLoopLag } from "../../src/metrics/process-metrics.ts";
import { PublishMetrics } from "../../src/metrics/publish-metrics.ts";
import { StoreMetrics } from "../../src/metrics/store-metrics.ts";
import { Scrape } from "../support/prometheus.ts";

/** Every series name a broker's /metrics can hold (histograms with their _bucket, _sum and _count). */
function exposedNames(): Set<string> {
  const text = brokerMetricsText(
    {
      raft: () => ({
        role: "leader",
        term: 1,
        leader: 1,
        commit: 1,
        applied: 1,
        lastIndex: 1,
        peers: [{ id: 2, match: 1 }],
      }),
      leaderChanges: () => 1,
      logBytes: () => 1,
      disk: () => ({ alarm: false, freeBytes: 1, refusedCommands: 0 }),
      topics: () => [{ name: "t", messages: 1, bytes: 1, published: 1 }],
      durables: () => [{ name: "d", lag: 1 }],
      subscriptions: () => 1,
      connections: () => 1,
      delivered: () => 1,
      publish: new PublishMetrics(),
      store: new StoreMetrics(),
    },
    new EventLoopLag(),
  );
  const names = new Set<string>();
  for (const family of new Scrape(text).families.values()) {
    names.add(family.name);
    if (family.type === "HISTOGRAM") for (const s of ["_bucket", "_sum", "_count"]) names.add(family.name + s);
  }
  return names;
}

const METRIC = /\b(?:mqraft|process)_[a-z_]+\b/g;
const read = (path: string) => Bun.file(join(import.meta.dir, "../..", path)).text();

test("the Grafana dashboard and the alerts of docs/operations.md use only metrics a broker exposes", async () => {
  const exposed = exposedNames();
  const grafana = JSON.parse(await read("docs/grafana-dashboard.json")) as {
    panels: { targets: { expr: string }[] }[];
  };
  const queries = grafana.panels.flatMap((p) => p.targets.map((t) => t.expr));
  const operations = await read("docs/operations.md");
  const promql = [...operations.matchAll(/```promql\n([\s\S]*?)```/g)].map((m) => m[1] as string);
  expect(queries.length).toBeGreaterThan(15);
  expect(promql.length).toBeGreaterThan(5);
  const unknown = [...queries, ...promql]
    .flatMap((q) => [...q.matchAll(METRIC)].map((m) => m[0]))
    .filter((n) => !exposed.has(n));
  expect([...new Set(unknown)]).toEqual([]);
});
