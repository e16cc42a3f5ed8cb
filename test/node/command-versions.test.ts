/**
 * Command versions on the production assembly (docs/state-machine.md, "Command versions"): a leader proposes a command
 * kind only once every member applies it, and a replica that meets a command newer than it stops before applying it.
 */
import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { decodeCommand } from "../../src/broker/command-codec.ts";
import { COMMAND_VERSION } from "../../src/broker/command-versions.ts";
import type { BrokerAssembly } from "../../src/node/broker-assembly.ts";
import { HelloAdmission } from "../../src/node/hello-admission.ts";
import { peerHello } from "../../src/node/peer-messages.ts";
import { Encoder } from "../../src/util/cbor-x.ts";
import { isMqraftError } from "../../src/util/errors.ts";
import { HelloSchema } from "../../src/wire/index.ts";
import { recordingLog } from "../support/recording-log.ts";
import { leaderByHand } from "../support/sim-assembly.ts";

const T0 = 1_700_000_000_000;
const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });

/** Node 1 of `founders` on a simulated disk, led to leadership (the other founders' votes are stepped in by hand). */
async function leader(founders: number[], peerCommandVersion?: (id: number) => number | undefined) {
  const lines: string[] = [];
  const fatal: unknown[] = [];
  const n = await leaderByHand(founders, {
    now: T0,
    log: recordingLog(lines),
    fatal: (e: unknown) => void fatal.push(e),
    ...(peerCommandVersion === undefined ? {} : { peerCommandVersion }),
  });
  return { ...n, lines, fatal };
}

/** The kinds of the commands in node 1's log after index `after`. */
function logged(assembly: BrokerAssembly, after: number): string[] {
  const out: string[] = [];
  for (let i = after + 1; i <= assembly.store.lastIndex(); i++) {
    const data = assembly.readEntry(i);
    if (data !== undefined && data.length > 0) out.push(decodeCommand(data).type);
  }
  return out;
}

describe("command versions on a broker", () => {
  test("a leader proposes a newer command kind only once every member has said it applies it", async () => {
    const versions = new Map<number, number>();
    const n = await leader([1, 2, 3], (id) => versions.get(id));
    const tick = () => n.assembly.broker.propose({ type: "tick", time: T0 + 1 });
    const start = n.assembly.store.lastIndex();
    // broker 2 and 3 said nothing yet (not connected): refused, naming one
    await expect(tick()).rejects.toThrow(/needs command version 2, and broker 2 has not said/);
    versions.set(2, 2);
    versions.set(3, 1);
    await expect(tick()).rejects.toThrow(/needs command version 2, and broker 3 applies command versions up to 1/);
    // a kind every build applies is proposed whatever the members said
    void n.assembly.broker.propose({ type: "unsubscribe", time: T0 + 1, name: "s" }).catch(() => {});
    await n.settle();
    expect(logged(n.assembly, start)).toEqual(["unsubscribe"]);
    versions.set(3, COMMAND_VERSION);
    void tick().catch(() => {});
    await n.settle();
    expect(logged(n.assembly, start)).toEqual(["unsubscribe", "tick"]);
    await n.assembly.stop();
  });

  test("a replica that meets a command newer than it stops before it, with the reason, its state untouched", async () => {
    const n = await leader([1]);
    const before = n.assembly.broker.state.appliedIndex;
    const index = n.assembly.store.lastIndex() + 1;
    n.assembly.driver.propose(cbor.encode({ type: "compact-topic", time: T0 + 1, topic: "t" }));
    await n.settle();
    expect(n.fatal).toHaveLength(1);
    expect(isMqraftError(n.fatal[0], "UNSUPPORTED_VERSION")).toBe(true);
    const stopping = n.lines.filter((line) => line.startsWith("error Stopping"));
    expect(stopping).toEqual([
      `error Stopping: cannot apply entry ${index}: its command kind "compact-topic" is newer than this broker (which applies command versions up to ${COMMAND_VERSION}). This broker stops here rather than differ from the brokers that apply it: upgrade it and start it again (its log is intact; it applies the entry then)`,
    ]);
    expect(n.assembly.broker.state.appliedIndex).toBe(before);
    await n.assembly.stop();
  });
});

describe("the peer hello says which command versions a broker applies", () => {
  const admit = (hello: unknown) => {
    const adopted: (number | undefined)[] = [];
    const connection = {
      maxFrameBytes: 1 << 20,
      remoteAddress: "127.0.0.1",
      limitIncomingFrames() {},
      send() {},
      close() {},
    };
    const host = {
      founding: undefined,
      nodeId: 1,
      welcome: () => ({ type: "welcome" as const, version: 1 }),
      adoptPeer: (_id: number, _c: unknown, _lane?: "bulk", commands?: number) => void adopted.push(commands),
    };
    const admission = new HelloAdmission(host, connection as never);
    admission.receive(v.parse(HelloSchema, hello) as never);
    admission.closed();
    return adopted;
  };

  test("this build's hello carries COMMAND_VERSION, and the broker that accepts it hands it on with the peer", () => {
    expect(peerHello(2).commands).toBe(COMMAND_VERSION);
    expect(admit(peerHello(2))).toEqual([COMMAND_VERSION]);
    // a broker from before command versions says nothing
    expect(admit({ type: "hello", version: 1, role: "peer", id: 2 })).toEqual([undefined]);
  });
});
