import { expect, test } from "bun:test";
import {
  bucketQuantile,
  counterDelta,
  type DashboardState,
  diffEvents,
  type NodeView,
} from "../../src/manager/dashboard-model.ts";

const node = (id: number, over: Partial<NodeView> = {}): NodeView => ({
  id,
  address: `127.0.0.1:${8000 + id}`,
  role: "follower",
  voter: true,
  up: true,
  reachable: true,
  term: 2,
  commit: 5,
  applied: 5,
  lag: 0,
  version: "0.1.0",
  metrics: undefined,
  ...over,
});
const state = (time: number, leader: number, nodes: NodeView[]): DashboardState => ({
  time,
  leader,
  term: 2,
  nodes,
  history: [],
  topics: [],
  durables: [],
  events: [],
});

test("a counter that went down was restarted: its growth is its whole value", () => {
  expect([counterDelta(undefined, 7), counterDelta(3, 10), counterDelta(10, 4)]).toEqual([0, 7, 4]);
});

test("quantiles come from the bucket where the rank falls, the last finite bound for the +Inf bucket", () => {
  const buckets = [
    { le: 0.001, count: 50 },
    { le: 0.01, count: 98 },
    { le: 0.1, count: 99 },
    { le: Number.POSITIVE_INFINITY, count: 100 },
  ];
  expect([bucketQuantile(0.5, buckets), bucketQuantile(0.99, buckets), bucketQuantile(1, buckets)]).toEqual([
    0.001, 0.1, 0.1,
  ]);
  expect(bucketQuantile(0.5, [{ le: Number.POSITIVE_INFINITY, count: 0 }])).toBe(0);
});

test("events: a new leader, a node lost and back, a join and a leave; the first brokers seen are not news", () => {
  const a = state(1, 1, [node(1, { role: "leader" }), node(2), node(3)]);
  expect(diffEvents(state(0, 0, []), a).map((e) => e.kind)).toEqual(["election"]);
  const b = state(2, 2, [node(1, { up: false, reachable: false }), node(2, { role: "leader" }), node(3), node(4)]);
  expect(diffEvents(a, b).map((e) => `${e.kind}: ${e.text}`)).toEqual([
    "election: New leader node 2 (127.0.0.1:8002), term 2",
    "unreachable: node 1 (127.0.0.1:8001) is unreachable",
    "join: New node joins the cluster: node 4 (127.0.0.1:8004)",
  ]);
  const c = state(3, 2, [node(1), node(2, { role: "leader" }), node(4)]);
  expect(diffEvents(b, c).map((e) => e.kind)).toEqual(["reachable", "leave"]);
});
