import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { headerFlags, parsePubArgs } from "../../cmd/pub.ts";
import { parseStatusArgs } from "../../cmd/status.ts";
import { parseSubArgs } from "../../cmd/sub.ts";
import { usageMessage } from "./usage-message.ts";

let savedServer: string | undefined;
beforeEach(() => {
  savedServer = process.env.MQRAFT_SERVER;
  delete process.env.MQRAFT_SERVER;
});
afterEach(() => {
  if (savedServer === undefined) delete process.env.MQRAFT_SERVER;
  else process.env.MQRAFT_SERVER = savedServer;
});

describe("pub flags", () => {
  test("defaults: the default server, 10 s, plain output, stdin", () => {
    expect(parsePubArgs({ topic: "t", _: ["t"] })).toEqual({
      topic: "t",
      message: undefined,
      file: undefined,
      raw: false,
      servers: ["127.0.0.1:8888"],
      json: false,
      timeoutMs: 10_000,
      headers: undefined,
      ttlMs: undefined,
    });
  });

  test("message, --json, --server list, fractional --timeout and headers", () => {
    expect(
      parsePubArgs({
        topic: "a/b",
        message: "hi",
        _: ["a/b", "hi"],
        json: true,
        server: "h:1, h:2",
        timeout: "0.25",
        headers: ["Content-Type=text/plain", "trace=a=b", "empty="],
        ttl: "1.5h",
      }),
    ).toEqual({
      topic: "a/b",
      message: "hi",
      file: undefined,
      raw: false,
      servers: ["h:1", "h:2"],
      json: true,
      timeoutMs: 250,
      headers: [
        ["content-type", "text/plain"],
        ["trace", "a=b"],
        ["empty", ""],
      ],
      ttlMs: 5_400_000,
    });
  });

  test("every -H and --header is taken, in order, and a bad header is refused naming the problem", () => {
    expect(headerFlags(["t", "-H", "a=1", "--header", "b=2", "--header=c=3", "--", "-H", "x"])).toEqual([
      "a=1",
      "b=2",
      "c=3",
    ]);
    const bad = (headers: string[]) => usageMessage(() => parsePubArgs({ topic: "t", _: ["t"], headers }));
    expect(bad(["novalue"])).toContain('--header "novalue": expected KEY=VALUE');
    expect(bad(["a:b=1"])).toContain("lowercase printable ASCII other than");
    expect(bad(["a=\u0007"])).toContain("control character (U+0007)");
    expect(bad(Array.from({ length: 33 }, (_, i) => `k${i}=v`))).toContain("at most 32 headers, not 33");
    expect(bad([`big=${"x".repeat(5000)}`])).toContain("at most 4096 bytes of keys and values, not 5003");
    expect(usageMessage(() => parsePubArgs({ topic: "t", _: ["t"], ttl: "0s" }))).toContain("--ttl");
    expect(usageMessage(() => parsePubArgs({ topic: "t", _: ["t"], ttl: "10" }))).toContain("with a unit");
  });

  test("--timeout takes the duration syntax of every flag; a bare number is seconds", () => {
    const ms = (timeout: string) => parsePubArgs({ topic: "t", timeout }).timeoutMs;
    expect([ms("500ms"), ms("5s"), ms("2m"), ms("1h"), ms("7d"), ms("3")]).toEqual([
      500, 5000, 120_000, 3_600_000, 604_800_000, 3000,
    ]);
  });

  test("MQRAFT_SERVER is used when --server is absent", () => {
    process.env.MQRAFT_SERVER = "10.0.0.1:8000";
    expect(parsePubArgs({ topic: "t" }).servers).toEqual(["10.0.0.1:8000"]);
  });

  test.each([
    [{ topic: "bad topic" }, 'topic "bad topic"'],
    [{ topic: "t", timeout: "0" }, '--timeout "0": expected more than 0'],
    [{ topic: "t", timeout: "abc" }, '--timeout "abc": expected a duration like'],
    [{ topic: "t", message: "a", raw: true }, "give one of: a message, --file FILE, --raw"],
    [{ topic: "t", timeout: "-1" }, '--timeout "-1"'],
    [{ topic: "t", timeout: "99999999" }, "at most 2000000 seconds"],
    [{ topic: "t", server: "nohost" }, '--server "nohost": expected host:port'],
    [{ topic: "t", message: "a", _: ["t", "a", "b"] }, 'unexpected argument "b"'],
  ])("%o is refused naming the problem", (raw, expected) => {
    expect(usageMessage(() => parsePubArgs(raw))).toContain(expected);
  });

  test("a bad MQRAFT_SERVER is refused naming the variable", () => {
    process.env.MQRAFT_SERVER = "x";
    expect(usageMessage(() => parsePubArgs({ topic: "t" }))).toContain("MQRAFT_SERVER");
  });
});

describe("sub flags", () => {
  test("defaults: from latest, no count, no drain", () => {
    expect(parseSubArgs({ topic: "t", _: ["t"] })).toEqual({
      topics: ["t"],
      from: "latest",
      wait: false,
      durable: undefined,
      count: undefined,
      drain: false,
      headers: false,
      servers: ["127.0.0.1:8888"],
      json: false,
      timeoutMs: 10_000,
      reconnectTimeoutMs: 60_000,
    });
  });

  test("several topics, --from as earliest and as an offset, --count, --durable, --drain", () => {
    const settings = parseSubArgs({
      topic: "a",
      _: ["a", "b", "c"],
      from: "earliest",
      count: "5",
      durable: "w-1",
      drain: true,
    });
    expect(settings).toMatchObject({
      topics: ["a", "b", "c"],
      from: "earliest",
      count: 5,
      durable: "w-1",
      drain: true,
    });
    expect(parseSubArgs({ topic: "a", from: "42" }).from).toBe(42);
    expect(parseSubArgs({ topic: "a", from: "latest" }).from).toBe("latest");
  });

  test.each([
    [
      { topic: "t", from: "abc" },
      '--from "abc": expected earliest, latest, an offset (a whole number) or an RFC 3339 time',
    ],
    [{ topic: "t", from: "-3" }, '--from "-3"'],
    [{ topic: "t", from: "1.5" }, '--from "1.5"'],
    [{ topic: "t", from: "99999999999999999999" }, "offset too large"],
    [{ topic: "t", count: "0" }, '--count "0": expected a whole number of at least 1'],
    [{ topic: "t", count: "x" }, '--count "x"'],
    [{ topic: "t", durable: "has space" }, '--durable "has space": expected a subscription name'],
    [{ topic: "ok", _: ["ok", "not ok"] }, 'topic "not ok"'],
    [{ _: [] }, "a topic is needed"],
  ])("%o is refused naming the problem", (raw, expected) => {
    expect(usageMessage(() => parseSubArgs(raw))).toContain(expected);
  });
});

describe("status flags", () => {
  test("defaults to 5 s and plain output", () => {
    expect(parseStatusArgs({})).toEqual({ servers: ["127.0.0.1:8888"], json: false, timeoutMs: 5000 });
  });

  test("a bad --timeout is refused", () => {
    expect(usageMessage(() => parseStatusArgs({ timeout: "soon" }))).toContain("--timeout");
  });
});
