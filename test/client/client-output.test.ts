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
    },
    {
      id: 3,
      address: "127.0.0.1:8002",
      role: "unknown",
      voter: false,
      reachable: false,
      term: 2,
      commitIndex: 4,
      lastApplied: 4,
    },
  ],
};

describe("status output", () => {
  test("--json is exactly docs/design.md's shape", () => {
    const single: ClusterStatus = { leader: 1, term: 3, nodes: [status.nodes[1]!] };
    expect(statusJson(single)).toBe(
      '{"leader":1,"term":3,"nodes":[{"id":1,"address":"127.0.0.1:8000","role":"leader","voter":true,"reachable":true,"term":3,"commitIndex":10,"lastApplied":10}]}',
    );
  });

  test("the table marks the leader, sorts by id and shows lag against the leader's commit index", () => {
    expect(statusTable(status)).toEqual([
      "leader: node 1 at 127.0.0.1:8000, term 3",
      "   ID  ADDRESS         ROLE      VOTER  REACHABLE  TERM  COMMIT  APPLIED  LAG",
      "*  1   127.0.0.1:8000  leader    yes    yes        3     10      10       0",
      "   2   127.0.0.1:8001  follower  yes    yes        3     10      7        3",
      "   3   127.0.0.1:8002  unknown   no     no         2     4       4        -",
    ]);
  });

  test("without a leader: said so, and no lag", () => {
    const lines = statusTable({ ...status, leader: 0 });
    expect(lines[0]).toBe("no leader (term 3)");
    expect(lines.slice(2).every((line) => line.startsWith(" ") && line.endsWith("-"))).toBe(true);
  });
});
