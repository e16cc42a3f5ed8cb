import { describe, expect, test } from "bun:test";
import { AssertionError, assert } from "../../src/util/assert.ts";
import { isMqraftError } from "../../src/util/errors.ts";
import { bytes, TestCluster } from "../raft/harness.ts";

describe("assert", () => {
  test("a broken invariant throws an AssertionError, which is not an MqraftError, with the message built lazily", () => {
    let built = 0;
    const what = () => `thing ${++built}`;
    assert(true, what);
    expect(built).toBe(0);
    let thrown: unknown;
    try {
      assert(1 > 2, what);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(AssertionError);
    expect(isMqraftError(thrown)).toBe(false);
    expect((thrown as Error).message).toBe("invariant broken: thing 1");
  });

  test("the core refuses to apply committed entries out of order (applied rises one entry at a time)", () => {
    const c = new TestCluster([1], { preVote: false });
    c.elect(1);
    const node = c.node(1);
    node.raft.propose(bytes(1));
    node.raft.propose(bytes(2));
    let rd = node.raft.ready();
    while (rd.committed.length < 2) {
      node.log.append(rd.entries);
      node.raft.advance(rd);
      rd = node.raft.ready();
    }
    const [first, second] = rd.committed;
    rd.committed.splice(0, 1);
    expect(() => node.raft.advance(rd)).toThrow(
      `invariant broken: applied entry ${second?.index} after ${(first?.index ?? 0) - 1}`,
    );
  });
});
