import { describe, expect, test } from "bun:test";
import { ClusterMap } from "../../src/manager/cluster-map.ts";
import type { Report } from "../../src/wire/index.ts";

const STALE_MS = 2_000;
const members = [
  { id: 1, address: "127.0.0.1:8000", voter: true, reachable: true },
  { id: 2, address: "127.0.0.1:8001", voter: true, reachable: false },
  { id: 3, address: "127.0.0.1:8002", voter: true, reachable: true },
];

function report(leader: number, term: number, list = members): Report {
  return { type: "report", nodeId: leader, term, leader, members: list };
}

describe("the manager's cluster map", () => {
  test("the first report names the leader once; the same leader reporting again is not news", () => {
    const map = new ClusterMap(STALE_MS);
    expect(map.apply(report(1, 3), 0)).toBe("127.0.0.1:8000");
    expect(map.apply(report(1, 3), 250)).toBeUndefined();
    expect(map.leaderAt(250)).toEqual({ id: 1, address: "127.0.0.1:8000", term: 3 });
    expect(map.apply(report(3, 4), 500)).toBe("127.0.0.1:8002");
    expect(map.leaderAt(500)?.id).toBe(3);
  });

  test("a report of a lower term (a deposed leader) is ignored while the current leader keeps reporting", () => {
    const map = new ClusterMap(STALE_MS);
    map.apply(report(3, 5), 0);
    expect(map.apply(report(1, 4), 100)).toBeUndefined();
    expect(map.leaderAt(100)?.id).toBe(3);
  });

  test("a leader silent for longer than the stale limit is forgotten, its members are kept, and it is announced again when it returns", () => {
    const map = new ClusterMap(STALE_MS);
    map.apply(report(1, 2), 0);
    expect(map.expire(STALE_MS)).toBeUndefined();
    expect(map.expire(STALE_MS + 1)).toBe("127.0.0.1:8000");
    expect(map.leaderAt(STALE_MS + 1)).toBeUndefined();
    expect(map.knownMembers.map((m) => m.id)).toEqual([1, 2, 3]);
    expect(map.expire(STALE_MS + 2)).toBeUndefined();
    expect(map.apply(report(1, 2), STALE_MS + 500)).toBe("127.0.0.1:8000");
  });

  test("once the leader is forgotten, a lower term is accepted: a cluster recreated from scratch starts its terms over", () => {
    const map = new ClusterMap(STALE_MS);
    map.apply(report(3, 9), 0);
    expect(map.apply(report(2, 1), STALE_MS + 100)).toBe("127.0.0.1:8001");
    expect(map.leaderAt(STALE_MS + 100)).toEqual({ id: 2, address: "127.0.0.1:8001", term: 1 });
  });

  test("candidates put the leader first, then the members the leader hears from, then the rest", () => {
    const map = new ClusterMap(STALE_MS);
    map.apply(report(3, 1), 0);
    expect(map.candidates(0)).toEqual(["127.0.0.1:8002", "127.0.0.1:8000", "127.0.0.1:8001"]);
    expect(map.candidates(STALE_MS + 1)).toEqual(["127.0.0.1:8000", "127.0.0.1:8002", "127.0.0.1:8001"]);
  });

  test("a report naming no leader keeps the members and clears the leader; members without an address are never candidates", () => {
    const map = new ClusterMap(STALE_MS);
    map.apply(report(1, 1), 0);
    const withBlank = [...members, { id: 4, address: "", voter: false, reachable: true }];
    expect(map.apply({ type: "report", nodeId: 2, term: 2, leader: 0, members: withBlank }, 10)).toBeUndefined();
    expect(map.leaderAt(10)).toBeUndefined();
    expect(map.candidates(10)).toEqual(["127.0.0.1:8000", "127.0.0.1:8002", "127.0.0.1:8001"]);
    expect(map.apply(report(1, 3), 20)).toBe("127.0.0.1:8000");
  });
});
