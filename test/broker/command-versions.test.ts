import { describe, expect, test } from "bun:test";
import { encodeCommand } from "../../src/broker/command-codec.ts";
import { COMMAND_VERSION, commandRefusal, commandVersion } from "../../src/broker/command-versions.ts";
import { type Command, CommandSchema } from "../../src/broker/commands.ts";
import { BrokerState } from "../../src/broker/state-machine.ts";
import { Encoder } from "../../src/util/cbor-x.ts";
import { isMqraftError } from "../../src/util/errors.ts";
import { msg, publish, T0 } from "./helpers.ts";

const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });

function seeded(): BrokerState {
  const state = new BrokerState();
  publish(state, T0, msg("t", "a", "p", 1), msg("u", "b"));
  state.applyCommand(2, { type: "subscribe", time: T0, name: "s", topics: ["t"], from: "earliest" });
  return state;
}

/** What `apply` threw (it must throw). */
function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error("expected the entry to be refused with UNSUPPORTED_VERSION, and it was applied");
}

describe("command versions in the state machine", () => {
  // what a newer build proposes: a kind this build lacks, or a known kind whose meaning changed (it carries `v`)
  const newer: [string, unknown, string][] = [
    ["a new kind", { type: "compact-topic", time: T0 + 1, topic: "t" }, 'its command kind "compact-topic" is newer'],
    [
      "a changed kind",
      { type: "ack", time: T0 + 1, name: "s", topic: "t", offset: 0, v: COMMAND_VERSION + 1 },
      `its command needs command version ${COMMAND_VERSION + 1}, and this broker applies versions up to ${COMMAND_VERSION}`,
    ],
  ];

  test.each(newer)("%s: apply throws UNSUPPORTED_VERSION before changing anything", (_, command, why) => {
    const state = seeded();
    const before = Buffer.from(state.snapshot());
    const e = thrown(() => state.apply(3, cbor.encode(command)));
    expect(isMqraftError(e, "UNSUPPORTED_VERSION")).toBe(true);
    expect((e as Error).message).toContain(`cannot apply entry 3: ${why}`);
    expect(state.appliedIndex).toBe(2);
    expect(Buffer.from(state.snapshot()).equals(before)).toBe(true);
    // the same with a decoded command
    const again = thrown(() => state.applyCommand(3, command as Command));
    expect(isMqraftError(again, "UNSUPPORTED_VERSION")).toBe(true);
    expect(Buffer.from(state.snapshot()).equals(before)).toBe(true);
  });

  test("a command that needs no more than this build's version applies as ever; garbage is still a refusal", () => {
    const state = seeded();
    const ack = { type: "ack", time: T0 + 1, name: "s", topic: "t", offset: 0 };
    expect(state.apply(3, cbor.encode({ ...ack, v: COMMAND_VERSION }))).toEqual([
      { type: "ack", name: "s", topic: "t", position: 1 },
    ]);
    expect(state.apply(4, new Uint8Array([0x1c, 0xff]))).toMatchObject([{ type: "error", code: "BAD_MESSAGE" }]);
    expect(state.apply(5, cbor.encode({ time: T0 }))).toMatchObject([{ type: "error", code: "BAD_MESSAGE" }]);
  });

  test("every command kind has a version, none above this build's", () => {
    const kinds = CommandSchema.options.map((o) => o.entries.type.literal);
    for (const kind of kinds) {
      const version = commandVersion(kind);
      expect([kind, version >= 1 && version <= COMMAND_VERSION]).toEqual([kind, true]);
    }
    expect(commandVersion("tick")).toBe(2);
    // a state machine of this build applies each kind it encodes
    const state = new BrokerState();
    expect(state.apply(1, encodeCommand({ type: "tick", time: T0 }))).toEqual([{ type: "tick" }]);
  });

  test("the leader's gate: a kind is proposed only once every member said it applies its version", () => {
    const said = new Map([
      [1, 2],
      [2, 2],
      [3, 1],
    ]);
    const versionOf = (id: number) => said.get(id);
    expect(commandRefusal("ack", [1, 2, 3, 4], versionOf)).toBeUndefined();
    expect(commandRefusal("tick", [1, 2], versionOf)).toBeUndefined();
    expect(commandRefusal("tick", [1, 2, 3], versionOf)?.message).toBe(
      "the cluster cannot take a tick command yet: it needs command version 2, and broker 3 applies command versions up to 1; upgrade every broker first",
    );
    expect(commandRefusal("tick", [1, 4], versionOf)?.message).toContain(
      "broker 4 has not said which command versions it applies",
    );
    expect(commandRefusal("tick", [1, 3], versionOf)?.code).toBe("REFUSED");
  });
});
