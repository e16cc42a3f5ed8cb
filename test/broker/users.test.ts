import { describe, expect, test } from "bun:test";
import { decodeCommand, encodeCommand } from "../../src/broker/command-codec.ts";
import { BrokerState } from "../../src/broker/state-machine.ts";
import type { UserAddCommand } from "../../src/broker/users-commands.ts";
import { applyNext, expectError, T0 } from "./helpers.ts";

const add = (name: string, hash = "h1", admin = false): UserAddCommand => ({
  type: "user-add",
  time: T0,
  name,
  hash,
  publish: ["orders*"],
  subscribe: ["orders.>"],
  admin,
});

describe("users in the replicated state", () => {
  test("added, rotated and removed by committed commands; each change counts in version", () => {
    const state = new BrokerState();
    expect(applyNext(state, add("alice"))).toEqual([{ type: "user-add", name: "alice" }]);
    expect(state.users.get("alice")).toMatchObject({ hash: "h1", publish: ["orders*"], admin: false, created: T0 });
    const before = state.users.version;
    expect(applyNext(state, { type: "user-rotate", time: T0 + 5, name: "alice", hash: "h2" })).toEqual([
      { type: "user-rotate", name: "alice" },
    ]);
    expect(state.users.get("alice")).toMatchObject({ hash: "h2", rotated: T0 + 5 });
    expect(state.users.version).toBe(before + 1);
    expect(applyNext(state, { type: "user-remove", time: T0, name: "alice" })).toEqual([
      { type: "user-remove", name: "alice" },
    ]);
    expect(state.users.get("alice")).toBeUndefined();
  });

  test("a second add of one name, and a removal or rotation of nobody, are refused and change nothing", () => {
    const state = new BrokerState();
    applyNext(state, add("alice"));
    const version = state.users.version;
    expectError(applyNext(state, add("alice", "other")), "REFUSED", "exists");
    expectError(applyNext(state, { type: "user-remove", time: T0, name: "bob" }), "NOT_FOUND", "no user bob");
    expectError(applyNext(state, { type: "user-rotate", time: T0, name: "bob", hash: "x" }), "NOT_FOUND");
    expect(state.users.get("alice")?.hash).toBe("h1");
    expect(state.users.version).toBe(version);
  });

  test("a user command with a bad name or too many patterns is refused as a whole", () => {
    const state = new BrokerState();
    expectError(applyNext(state, add("a:b")), "BAD_MESSAGE", "user name");
    const many = { ...add("carol"), publish: Array.from({ length: 101 }, (_, i) => `t${i}`) };
    expectError(applyNext(state, many), "BAD_MESSAGE", "at most 100");
    expect(state.users.size).toBe(0);
  });

  test("the commands round-trip through their bytes", () => {
    const command = add("alice", "$argon2id$v=19$m=19456,t=2,p=1$abc$def", true);
    expect(decodeCommand(encodeCommand(command))).toEqual(command);
  });

  test("a snapshot carries the users, and a restored broker has them", () => {
    const state = new BrokerState();
    applyNext(state, add("alice"));
    applyNext(state, add("root", "h3", true));
    applyNext(state, { type: "user-rotate", time: T0 + 9, name: "alice", hash: "h4" });
    const restored = BrokerState.restore(state.snapshot());
    expect([...restored.users.records()]).toEqual([...state.users.records()]);
    expect(restored.users.version).toBeGreaterThan(0);
  });

  test("a snapshot without users (written before they existed) restores with none", () => {
    const restored = BrokerState.restore(new BrokerState().snapshot());
    expect(restored.users.size).toBe(0);
  });
});
