import { describe, expect, test } from "bun:test";
import { messageLine, publishedLine, statusJson, statusTable } from "../../cmd/client-output.ts";
import type { ClusterStatus } from "../../src/client/index.ts";

const bytes = (...b: number[]): Uint8Array => new Uint8Array(b);

describe("pub output", () => {
  test("--json is docs/design.md's shape; plain names topic and offset", () => {
    expect(publishedLine({ topic: "t", offset: 0 }, true)).toBe('{"topic":"t","offset":0}');
    expect(publishedLine({ topic: "t", offset: 7 }, false)).toBe("published t #7");
  });
});

describe("sub output", () => {
  test("text payloads: data in --json, the text itself in plain output", () => {
    const message = { topic: "t", offset: 0, data: new TextEncoder().encode('say "hi" ✓') };
    expect(messageLine(message, true)).toBe('{"topic":"t","offset":0,"data":"say \\"hi\\" ✓"}');
    expect(messageLine(message, false)).toBe('t #0  say "hi" ✓');
  });

  test("payloads that are not UTF-8: data_b64 in --json, marked base64 in plain output", () => {
    const message = { topic: "bin", offset: 3, data: bytes(0xff, 0x00, 0xfe) };
    expect(JSON.parse(messageLine(message, true))).toEqual({ topic: "bin", offset: 3, data_b64: "/wD+" });
    expect(messageLine(message, false)).toBe("bin #3  <3 bytes, not UTF-8; base64 /wD+>");
  });

  test("an empty payload is empty text", () => {
    expect(messageLine({ topic: "t", offset: 1, data: bytes() }, true)).toBe('{"topic":"t","offset":1,"data":""}');
  });
});

const status: ClusterStatus = {
  leader: 1,
  term: 3,
  nodes: [
    {
      id: 2,
      address: "127.0.0.1:8001",
      role: "follower",
      voter: true,
      reachable: true,
      term: 3,
      commitIndex: 10,
      lastApplied: 7,
      lastIndex: 7,
      lastTerm: 3,
      version: "0.1.0",
      uptimeMs: 65_000,
      diskBytes: 2048,
      diskFreeBytes: 5_000_000,
      diskAlarm: false,
    },
    {
      id: 1,
      address: "127.0.0.1:8000",
      role: "leader",
      voter: true,
      reachable: true,
      term: 3,
      commitIndex: 10,
      lastApplied: 10,
      lastIndex: 10,
      lastTerm: 3,
      version: "0.1.0",
      uptimeMs: 3_700_000,
      diskBytes: 500,
      diskFreeBytes: 1024,
      diskAlarm: false,
    },
    {
      id: 3,
      address: "127.0.0.1:8002",
      role: "unknown",
      voter: false,
      reachable: false,
      term: null,
      commitIndex: null,
      lastApplied: null,
      lastIndex: null,
      lastTerm: null,
      version: null,
      uptimeMs: null,
      diskBytes: null,
      diskFreeBytes: null,
      diskAlarm: null,
    },
  ],
};

describe("status output", () => {
  test("--json is the documented shape, unknowns as null", () => {
    const two: ClusterStatus = { leader: 1, term: 3, nodes: [status.nodes[1]!, status.nodes[2]!] };
    expect(statusJson(two)).toBe(
      '{"leader":1,"term":3,"nodes":[{"id":1,"address":"127.0.0.1:8000","role":"leader","voter":true,"reachable":true,"term":3,"commitIndex":10,"lastApplied":10,"lag":0,"version":"0.1.0","uptimeMs":3700000,"diskBytes":500,"diskFreeBytes":1024,"diskAlarm":false},{"id":3,"address":"127.0.0.1:8002","role":"unknown","voter":false,"reachable":false,"term":null,"commitIndex":null,"lastApplied":null,"lag":null,"version":null,"uptimeMs":null,"diskBytes":null,"diskFreeBytes":null,"diskAlarm":null}]}',
    );
  });

  test("--json and the table show a raised disk alarm with the free space", () => {
    const full = { ...status, nodes: status.nodes.map((n) => (n.id === 1 ? { ...n, diskAlarm: true } : n)) };
    expect(statusTable(full)[2]).toEndWith("500 B DISK FULL (1.0 KiB free)");
    expect(statusTable(full)[3]).toEndWith("2.0 KiB");
    expect(JSON.parse(statusJson(full)).nodes[1]).toMatchObject({ id: 1, diskAlarm: true, diskFreeBytes: 1024 });
  });

  test("the table marks the leader, sorts by id, shows lag against the leader's commit index and - for unknowns", () => {
    expect(statusTable(status)).toEqual([
      "leader: node 1 at 127.0.0.1:8000, term 3",
      "   ID  ADDRESS         ROLE      VOTER  REACHABLE  TERM  COMMIT  APPLIED  LAG  VERSION  UPTIME  DISK",
      "*  1   127.0.0.1:8000  leader    yes    yes        3     10      10       0    0.1.0    1h1m    500 B",
      "   2   127.0.0.1:8001  follower  yes    yes        3     10      7        3    0.1.0    1m5s    2.0 KiB",
      "   3   127.0.0.1:8002  -         no     no         -     -       -        -    -        -       -",
    ]);
  });

  test("without a leader: said so, and no lag", () => {
    const lines = statusTable({ ...status, leader: null });
    expect(lines[0]).toBe("no leader (highest term seen 3)");
    // the lag column (the 10th) is "-" in every row
    expect(lines.slice(2).map((line) => line.trim().split(/\s+/)[8])).toEqual(["-", "-", "-"]);
  });
});
