/**
 * A node restarted with configuration entries in its log that its saved commit index does not reach. A leader proposes
 * a configuration change only once it has applied every earlier one, so a configuration entry followed by another in
 * a log is committed: a node that counts votes with the configuration before both is two changes behind the cluster,
 * and the majorities of two configurations two single-server changes apart need not overlap.
 */
import { describe, expect, test } from "bun:test";
import { EntryKind, type Message } from "../../src/raft/index.ts";
import { bytes, E, TestCluster } from "./harness.ts";

const holdsConfig = (m: Message) => m.type === "append" && m.entries.some((e) => e.kind === EntryKind.Config);

describe("restart with configuration entries beyond the saved commit index", () => {
  test("a node whose crash kept two promotions but not the commit of the first cannot elect itself with the old voters", () => {
    const c = new TestCluster([1, 2, 3], {}, [4, 5]);
    c.elect(1);
    c.tickAll(2);
    const leader = c.node(1);
    // node 3 misses both promotions: {1, 2} commit promote 4, {1, 2, 4} commit promote 5
    const held: Message[] = [];
    c.drop.push((m) => {
      if (m.to === 3 && holdsConfig(m)) held.push(m);
      return m.to === 3 && holdsConfig(m);
    });
    for (const id of [4, 5]) {
      leader.raft.proposeConfChange({ op: "promote", id });
      c.deliver(leader.flush());
      c.tickAll(1);
    }
    expect(leader.raft.membership.voters).toEqual([1, 2, 3, 4, 5]);
    // the append that brings node 3 both promotions carries a commit index past the first; node 3 writes the entries
    // and crashes before its hard state (with that commit) is durable: the driver syncs the two in parallel
    c.tickAll(3);
    const catchUp = held.find(
      (m) => m.type === "append" && m.entries.filter((e) => e.kind === EntryKind.Config).length === 2,
    );
    expect(catchUp).toBeDefined();
    const three = c.node(3);
    three.raft.step(catchUp as Message);
    const rd = three.raft.ready();
    expect(rd.entries.filter((e) => e.kind === EntryKind.Config).length).toBe(2);
    three.log.append(rd.entries);
    three.restart();
    expect(three.raft.membership.voters).toEqual([1, 2, 3]);

    // {1, 4, 5}, a majority of the five voters, commits X; nodes 2 and 3 are cut off
    c.drop.length = 0;
    c.drop.push((m) => [2, 3].includes(m.from) || [2, 3].includes(m.to));
    const x = c.propose(1, bytes(42));
    c.tickAll(2);
    expect(leader.raft.commitIndex).toBeGreaterThanOrEqual(x);
    const xTerm = leader.raft.termAt(x);

    // node 1 (and 4, 5) go away; nodes 2 and 3 reach each other only
    c.drop.length = 0;
    c.drop.push((m) => ![2, 3].includes(m.from) || ![2, 3].includes(m.to));
    for (let i = 0; i < 4 * E; i++) {
      for (const id of [2, 3]) {
        c.node(id).raft.tick();
        c.deliver(c.node(id).flush());
      }
    }
    // nothing but X may be committed at X's index
    const atX = [2, 3].map((id) => {
      const n = c.node(id);
      return { id, role: n.raft.role, committedAtX: n.raft.commitIndex >= x ? n.raft.termAt(x) : "not committed" };
    });
    expect(atX.filter((n) => n.committedAtX !== "not committed" && n.committedAtX !== xTerm)).toEqual([]);
  });
});
