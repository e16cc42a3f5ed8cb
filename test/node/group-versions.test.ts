/**
 * Consumer groups across command versions (docs/state-machine.md, "Command versions"): a leader creates groups that
 * hand out runs, and proposes acks as ranges, only once every member applies command version 4; before that it
 * creates groups as before and lists a member's ranges offset by offset, so that older replicas apply them alike.
 */
import { describe, expect, test } from "bun:test";
import { decodeCommand } from "../../src/broker/command-codec.ts";
import type { Command } from "../../src/broker/commands.ts";
import type { BrokerAssembly } from "../../src/node/broker-assembly.ts";
import { DEFAULT_RUN } from "../../src/node/group-service.ts";
import { recordingLog } from "../support/recording-log.ts";
import { leaderByHand } from "../support/sim-assembly.ts";

const T0 = 1_700_000_000_000;

/** Node 1 of three founders on a simulated disk, led to leadership by hand; the others said `versions`. */
function leader(versions: Map<number, number>) {
  return leaderByHand([1, 2, 3], {
    now: T0,
    log: recordingLog([]),
    fatal: () => {},
    peerCommandVersion: (id: number) => versions.get(id),
  });
}

/** The group commands in node 1's log after index `after` (appended; none is committed without the others). */
function groupCommands(assembly: BrokerAssembly, after: number): Command[] {
  const out: Command[] = [];
  for (let i = after + 1; i <= assembly.store.lastIndex(); i++) {
    const data = assembly.readEntry(i);
    if (data === undefined || data.length === 0) continue;
    const command = decodeCommand(data);
    if (command.type.startsWith("group-")) out.push(command);
  }
  return out;
}

const sink = { send: () => true, isOpen: true };

/** A member joins group g (the join is proposed, not answered) and acks offsets 5 to 7 as one range. */
async function joinAndAck(n: Awaited<ReturnType<typeof leader>>): Promise<Command[]> {
  const start = n.assembly.store.lastIndex();
  const { groups } = n.assembly.broker;
  void groups.consume(1, { type: "consume", id: 1, group: "g", topic: "jobs", member: "m" }, sink).catch(() => {});
  void groups.settle("g", "m", "ack", [2], [1], [5, 3, 1]).catch(() => {});
  await n.settle();
  return groupCommands(n.assembly, start);
}

describe("consumer groups on a cluster of mixed command versions", () => {
  test("a member at version 3: no runs, and ranges listed one by one; all at 4: runs and ranges, marked v 4", async () => {
    const versions = new Map([
      [2, 4],
      [3, 3],
    ]);
    const n = await leader(versions);
    const [join, ack] = await joinAndAck(n);
    expect(join).toMatchObject({ type: "group-join", group: "g", member: "m" });
    expect(join?.type === "group-join" && [join.settings.run, join.v]).toEqual([undefined, undefined]);
    expect(ack).toMatchObject({ type: "group-ack", offsets: [2, 5, 6, 7], attempts: [1, 1, 1, 1] });
    expect(ack?.type === "group-ack" && [ack.ranges, ack.v]).toEqual([undefined, undefined]);

    versions.set(3, 4);
    const [join4, ack4] = await joinAndAck(n);
    expect(join4?.type === "group-join" && [join4.settings.run, join4.v]).toEqual([DEFAULT_RUN, 4]);
    expect(ack4).toMatchObject({ type: "group-ack", offsets: [2], attempts: [1], ranges: [5, 3, 1], v: 4 });
    await n.assembly.stop();
  });
});
