import { expect, test } from "bun:test";
import { brokerMetricsText, OTHER_TOPICS, TOPIC_SERIES_LIMIT } from "../../src/metrics/broker-metrics.ts";
import { EventLoopLag } from "../../src/metrics/process-metrics.ts";
import { PublishMetrics } from "../../src/metrics/publish-metrics.ts";
import { StoreMetrics } from "../../src/metrics/store-metrics.ts";
import { Scrape } from "../support/prometheus.ts";

function source(topics: { name: string; messages: number; bytes: number; published: number }[]) {
  const publish = new PublishMetrics();
  publish.settled(
    [{ type: "publish" }, { type: "publish", duplicate: true }, { type: "error", code: "REFUSED" }],
    3,
    0,
  );
  publish.settled({ code: "NOT_LEADER" }, 5, 0);
  return {
    raft: () => ({
      role: "leader",
      term: 3,
      leader: 1,
      commit: 10,
      applied: 9,
      lastIndex: 12,
      peers: [{ id: 2, match: 7 }],
    }),
    leaderChanges: () => 2,
    logBytes: () => 4096,
    topics: () => topics,
    durables: () => [{ name: 'a "quoted"\nname\\', lag: 4 }],
    subscriptions: () => 1,
    connections: () => 3,
    delivered: () => 17,
    publish,
    store: new StoreMetrics(),
  };
}

test("the disk alarm and the free space are gauges, the commands it refused a counter; a broker that has not read its disk yet shows none", () => {
  const s = new Scrape(
    brokerMetricsText(
      { ...source([]), disk: () => ({ alarm: true, freeBytes: 123, refusedCommands: 4 }) },
      new EventLoopLag(),
    ),
  );
  expect([
    s.value("mqraft_disk_alarm"),
    s.value("mqraft_disk_free_bytes"),
    s.value("mqraft_disk_alarm_refused_commands_total"),
  ]).toEqual([1, 123, 4]);
  const none = new Scrape(brokerMetricsText({ ...source([]), disk: () => undefined }, new EventLoopLag()));
  expect([none.value("mqraft_disk_alarm"), none.value("mqraft_disk_free_bytes")]).toEqual([undefined, undefined]);
});

test("topics past the 100 largest are summed into one series, and label values with quotes, newlines and backslashes survive", () => {
  const topics = Array.from({ length: 150 }, (_, i) => ({
    name: `t${i}`,
    messages: i,
    bytes: 2 * i,
    published: 3 * i,
  }));
  const s = new Scrape(brokerMetricsText(source(topics), new EventLoopLag()));
  const series = s.families.get("mqraft_topic_messages")!.metrics;
  const restMessages = topics.slice(0, 50).reduce((n, t) => n + t.messages, 0);
  expect({
    series: series.length,
    largestKept: s.value("mqraft_topic_messages", { topic: "t149" }),
    smallDropped: s.value("mqraft_topic_messages", { topic: "t49" }),
    other: s.value("mqraft_topic_messages", { topic: OTHER_TOPICS }),
    otherBytes: s.value("mqraft_topic_bytes", { topic: OTHER_TOPICS }),
    topics: s.value("mqraft_topics"),
    durableLag: s.value("mqraft_durable_lag_messages", { durable: 'a "quoted"\nname\\' }),
  }).toEqual({
    series: TOPIC_SERIES_LIMIT + 1,
    largestKept: 149,
    smallDropped: undefined,
    other: restMessages,
    otherBytes: 2 * restMessages,
    topics: 150,
    durableLag: 4,
  });
});

test("publish results are counted per message and only acknowledged ones are timed", () => {
  const s = new Scrape(brokerMetricsText(source([]), new EventLoopLag()));
  expect({
    ok: s.value("mqraft_publish_total", { result: "ok" }),
    duplicate: s.value("mqraft_publish_total", { result: "duplicate" }),
    refused: s.value("mqraft_publish_total", { result: "REFUSED" }),
    notLeader: s.value("mqraft_publish_total", { result: "NOT_LEADER" }),
    timed: s.value("mqraft_publish_ack_seconds"),
    followerLag: s.value("mqraft_follower_lag_entries", { peer: "2" }),
    series: s.families.get("mqraft_topic_messages")?.metrics.length ?? 0,
  }).toEqual({ ok: 1, duplicate: 1, refused: 1, notLeader: 5, timed: 1, followerLag: 5, series: 0 });
});
