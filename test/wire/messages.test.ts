import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { ERROR_CODES, isMqraftError, MqraftError } from "../../src/util/errors.ts";
import { decodeValue, encodeValue } from "../../src/wire/cbor.ts";
import { helloError } from "../../src/wire/handshake.ts";
import { errorFromMessage, errorMessage } from "../../src/wire/messages/error.ts";
import { PROTOCOL_VERSION } from "../../src/wire/messages/handshake.ts";
import { createMessageParser, parseMessage } from "../../src/wire/messages/parse.ts";
import {
  ClientInboundSchema,
  ManagerInboundSchema,
  MessageSchema,
  ServerInboundSchema,
} from "../../src/wire/messages/unions.ts";

/** The parse result, after a trip through CBOR as it would arrive. */
function parseWire(value: unknown): unknown {
  return parseMessage(decodeValue(encodeValue(value)));
}

function badMessageReason(value: unknown): string {
  const result = parseWire(value);
  if (!isMqraftError(result, "BAD_MESSAGE")) throw new Error(`expected BAD_MESSAGE, got ${JSON.stringify(result)}`);
  return result.message;
}

describe("messages", () => {
  test.each([
    { type: "hello", version: 1 },
    { type: "hello", version: 1, token: "t0k3n", role: "client" },
    { type: "hello", version: 2, role: "peer", id: 3 },
    { type: "welcome", version: 1 },
    { type: "welcome", version: 1, nodeId: 2, maxFrameBytes: 16 * 1024 * 1024 },
    { type: "error", code: "NOT_LEADER", message: "ask node 2" },
  ])("%o parses to itself", (message) => {
    expect(parseWire(message)).toEqual(message);
  });

  test("every error code is accepted in an error message", () => {
    for (const code of ERROR_CODES) {
      expect(parseWire({ type: "error", code, message: "m" })).toEqual({ type: "error", code, message: "m" });
    }
  });

  test("unknown fields are dropped, so newer peers can add optional fields", () => {
    expect(parseWire({ type: "hello", version: 1, future: [1, 2] })).toEqual({ type: "hello", version: 1 });
  });

  test("an unknown type is BAD_MESSAGE naming the type field", () => {
    expect(badMessageReason({ type: "launch", version: 1 })).toMatch(/^type: .*"launch"/);
  });

  test("a value that is not a map is BAD_MESSAGE", () => {
    expect(badMessageReason([1, 2])).toContain("type");
    expect(badMessageReason("hello")).toContain("Object");
  });

  test.each([
    [{ type: "hello", version: "1" }, "hello.version"],
    [{ type: "hello" }, "hello.version"],
    [{ type: "hello", version: 0 }, "hello.version"],
    [{ type: "hello", version: 1, role: "admin" }, "hello.role"],
    [{ type: "hello", version: 1, id: 1.5 }, "hello.id"],
    [{ type: "hello", version: 1, token: 42 }, "hello.token"],
    [{ type: "welcome", version: 1, nodeId: -1 }, "welcome.nodeId"],
    [{ type: "error", code: "NOPE", message: "m" }, "error.code"],
    [{ type: "error", code: "TIMEOUT" }, "error.message"],
  ])("%o is BAD_MESSAGE naming %s", (value, field) => {
    expect(badMessageReason(value).startsWith(`${field}: `)).toBe(true);
  });

  test("a reason quoting a huge received value stays short", () => {
    expect(badMessageReason({ type: "x".repeat(100_000) }).length).toBeLessThan(400);
  });

  test("role unions accept only what that side receives", () => {
    const server = createMessageParser(ServerInboundSchema);
    const client = createMessageParser(ClientInboundSchema);
    expect(server({ type: "hello", version: 1 })).toEqual({ type: "hello", version: 1 });
    expect(isMqraftError(server({ type: "welcome", version: 1 }), "BAD_MESSAGE")).toBe(true);
    expect(client({ type: "welcome", version: 1 })).toEqual({ type: "welcome", version: 1 });
    expect(isMqraftError(client({ type: "hello", version: 1 }), "BAD_MESSAGE")).toBe(true);
  });

  test("an error message carries a MqraftError across the wire", () => {
    const sent = errorMessage(new MqraftError("SLOW_CONSUMER", "too slow"));
    const received = parseWire(sent);
    if (isMqraftError(received)) throw received;
    const error = errorFromMessage(received as typeof sent);
    expect(isMqraftError(error, "SLOW_CONSUMER")).toBe(true);
    expect(error.message).toBe("too slow");
  });

  test("a hello of another protocol version is refused with UNSUPPORTED_VERSION", () => {
    expect(helloError({ type: "hello", version: PROTOCOL_VERSION })).toBeUndefined();
    const error = helloError({ type: "hello", version: PROTOCOL_VERSION + 1 });
    expect(isMqraftError(error, "UNSUPPORTED_VERSION")).toBe(true);
    expect(error?.message).toContain(`version ${PROTOCOL_VERSION + 1}`);
  });
});

describe("parsing by type", () => {
  // the parser looks the one schema up by `type` instead of running the whole variant: same answers, errors included
  const samples: unknown[] = [
    { type: "publish", id: 1, topic: "t", data: new Uint8Array(3), producer: "p", seq: 2 },
    { type: "publish", id: 1, topic: "bad topic", data: new Uint8Array(3) },
    { type: "publish", id: -1, topic: "t", data: new Uint8Array(3) },
    { type: "publish", id: 1, topic: "t", data: "text" },
    { type: "published", id: 1, topic: "t", offset: 0, duplicate: true },
    { type: "published", id: 1, topic: "t", offset: 1.5 },
    {
      type: "append",
      from: 1,
      to: 2,
      term: 3,
      index: 4,
      logTerm: 3,
      entries: [{ index: 5, term: 3, kind: 0, data: new Uint8Array(1) }],
      commit: 4,
    },
    {
      type: "append",
      from: 1,
      to: 2,
      term: 3,
      index: 4,
      logTerm: 3,
      entries: [{ index: 5, term: 3, kind: 7, data: new Uint8Array(1) }],
      commit: 4,
    },
    { type: "status", id: 3 },
    { type: "hello", version: 1, extra: true },
    { type: "launch" },
    { type: 7 },
    { nope: 1 },
    [1, 2],
    null,
  ];
  const lookup = (value: unknown, parse: (value: unknown) => unknown): unknown => {
    const result = parse(decodeValue(encodeValue(value)));
    return result instanceof MqraftError ? `${result.code}: ${result.message}` : result;
  };
  test.each([
    ["ServerInbound", ServerInboundSchema],
    ["ClientInbound", ClientInboundSchema],
  ] as const)("%s gives what the whole variant gives", (_, schema) => {
    const parse = createMessageParser(schema);
    const whole = (value: unknown): unknown => {
      const result = v.safeParse(schema, value, { abortEarly: true });
      if (result.success) return result.output;
      return createMessageParser(v.union([schema]))(value);
    };
    for (const value of samples) expect(lookup(value, parse)).toEqual(lookup(value, whole));
  });

  test("MessageSchema holds every message any side receives, and parseMessage reads a status reply as a reply", () => {
    const all = new Set<unknown>(MessageSchema.options);
    const unions: readonly { options: readonly { entries: { type: { literal: string } } }[] }[] = [
      ServerInboundSchema,
      ManagerInboundSchema,
      ClientInboundSchema,
    ];
    const missing = unions
      .flatMap((union) => union.options)
      .filter((option) => !all.has(option))
      .map((option) => option.entries.type.literal);
    expect(missing).toEqual([]);
    const reply = { type: "status", id: 1, leader: 0, term: 2, nodes: [] };
    expect(parseWire(reply)).toEqual(reply);
    expect(parseWire({ type: "status", id: 1 })).toEqual({ type: "status", id: 1 });
    const append = { type: "append", from: 1, to: 2, term: 3, index: 0, logTerm: 0, entries: [], commit: 0 };
    expect(parseWire(append)).toEqual(append);
  });
});
