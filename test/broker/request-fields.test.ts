import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { PurgeCommandSchema, SeekCommandSchema, UnsubscribeCommandSchema } from "../../src/broker/commands.ts";
import { UserAddCommandSchema } from "../../src/broker/users-commands.ts";
import { AddUserSchema, PurgeTopicSchema, RemoveDurableSchema, SeekDurableSchema } from "../../src/wire/index.ts";

/** An admin request the wire accepts is exactly a command the state machine accepts (util/request-fields.ts). */
describe("admin requests and their commands share their fields", () => {
  const T0 = 1_700_000_000_000;
  const both = (
    request: v.GenericSchema,
    command: v.GenericSchema,
    asRequest: (x: unknown) => unknown,
    asCommand: (x: unknown) => unknown,
    values: unknown[],
  ) => {
    for (const x of values) {
      const r = v.safeParse(request, asRequest(x)).success;
      const c = v.safeParse(command, asCommand(x)).success;
      expect([x, r]).toEqual([x, c]);
    }
  };
  const tos = ["earliest", "latest", "middle", 0, 12, -1, 1.5, 2 ** 53, { time: T0 }, { time: -1 }, { at: 1 }, null];
  const names = ["orders", "a/b:c.d_e-f", "", "a b", "x".repeat(255), "x".repeat(256), 7];

  test("durable seek: `to` and `name`", () => {
    both(
      SeekDurableSchema,
      SeekCommandSchema,
      (to) => ({ type: "seek-durable", id: 1, name: "d", to }),
      (to) => ({ type: "seek", time: T0, name: "d", to }),
      tos,
    );
    both(
      SeekDurableSchema,
      SeekCommandSchema,
      (name) => ({ type: "seek-durable", id: 1, name, to: "earliest" }),
      (name) => ({ type: "seek", time: T0, name, to: "earliest" }),
      names,
    );
  });

  test("durable rm and topic purge", () => {
    both(
      RemoveDurableSchema,
      UnsubscribeCommandSchema,
      (name) => ({ type: "remove-durable", id: 1, name }),
      (name) => ({ type: "unsubscribe", time: T0, name }),
      names,
    );
    both(
      PurgeTopicSchema,
      PurgeCommandSchema,
      (keep) => ({ type: "purge-topic", id: 1, topic: "t", keep }),
      (keep) => ({ type: "purge", time: T0, topic: "t", keep }),
      [0, 5, -1, 0.5, "3", 2 ** 53],
    );
    both(
      PurgeTopicSchema,
      PurgeCommandSchema,
      (topic) => ({ type: "purge-topic", id: 1, topic }),
      (topic) => ({ type: "purge", time: T0, topic, keep: 0 }),
      ["t", "温度.センサー", "a b", "orders.*", "", "x".repeat(256)],
    );
  });

  test("user add: the permissions", () => {
    const permissions = [
      { publish: [], subscribe: ["a.>"], admin: false },
      { publish: Array(100).fill("t"), subscribe: [], admin: true },
      { publish: Array(101).fill("t"), subscribe: [], admin: true },
      { publish: ["a b"], subscribe: [], admin: false },
      { publish: [], subscribe: [], admin: "yes" },
    ];
    both(
      AddUserSchema,
      UserAddCommandSchema,
      (p) => ({ type: "add-user", id: 1, name: "alice", ...(p as object) }),
      (p) => ({ type: "user-add", time: T0, name: "alice", hash: "$argon2id$x", ...(p as object) }),
      permissions,
    );
  });
});
