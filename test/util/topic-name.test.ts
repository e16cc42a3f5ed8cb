import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import {
  clearJson,
  normalizeTopic,
  patternProblem,
  showTopic,
  TopicPatternSchema,
  TopicSchema,
  topicProblem,
  utf8Length,
} from "../../src/util/topic-name.ts";

describe("topic names", () => {
  test.each([
    ["t"],
    ["温度/センサー"],
    ["orders.eu.created"],
    ["😀"],
    ["a\u200bb"],
    ["温".repeat(85)],
    ["x".repeat(255)],
    ["__proto__"],
    ["a..b"],
  ])("%p is a topic name", (name) => {
    expect(topicProblem(name)).toBeUndefined();
    expect(v.is(TopicSchema, name)).toBe(true);
  });

  test.each([
    ["", "not empty"],
    ["温".repeat(86), "at most 255 bytes of UTF-8, not 258"],
    ["x".repeat(256), "at most 255 bytes of UTF-8, not 256"],
    ["a b", "U+0020 at character 2"],
    ["a\tb", "U+0009 at character 2"],
    ["a\u00a0b", "U+00A0 at character 2"],
    ["a\u2028", "U+2028 at character 2"],
    ["\u0007", "U+0007 at character 1"],
    ["\u0085x", "U+0085 at character 1"],
    ["a\ud800", "U+D800 at character 2"],
    ["orders.*", `"*" is a wildcard`],
    ["orders.>", `">" is a wildcard`],
    ["a*b", `"*" is a wildcard`],
    [42, "a topic name"],
  ])("%p is refused: %s", (name, why) => {
    expect(topicProblem(name)).toContain(why);
    const parsed = v.safeParse(TopicSchema, name);
    expect(parsed.success).toBe(false);
    expect(parsed.issues?.[0]?.message).toContain(why);
  });

  test("utf8Length is what TextEncoder writes", () => {
    for (const s of ["", "abc", "é", "温度", "😀", "a\ud800b", "\udc00", "x😀y\u0301"]) {
      expect([s, utf8Length(s)]).toEqual([s, new TextEncoder().encode(s).length]);
    }
  });

  test("the client library's form is NFC, and ASCII is kept as it is", () => {
    expect(normalizeTopic("cafe\u0301")).toBe("caf\u00e9");
    expect(normalizeTopic("\u1100\u1161")).toBe("\uac00");
    const ascii = "orders.eu";
    expect(normalizeTopic(ascii)).toBe(ascii);
  });
});

describe("topic patterns", () => {
  test.each([["orders.*"], ["orders.>"], ["*.created"], [">"], ["*"], ["温度.*.センサー"], ["orders"]])(
    "%p is a pattern",
    (pattern) => {
      expect(patternProblem(pattern)).toBeUndefined();
      expect(v.is(TopicPatternSchema, pattern)).toBe(true);
    },
  );

  test.each([
    ["orders.>.x", "only the last token"],
    ["orders.a*", "a wildcard is a whole token"],
    ["orders.>x", "a wildcard is a whole token"],
    ["a b.*", "U+0020 in token 1"],
    ["", "1 to 255 bytes"],
    [`${"x".repeat(254)}.*`, "not 256"],
  ])("%p is refused: %s", (pattern, why) => {
    expect(patternProblem(pattern)).toContain(why);
    expect(v.safeParse(TopicPatternSchema, pattern).issues?.[0]?.message).toContain(why);
  });
});

describe("printing a topic", () => {
  test.each([
    ["温度/センサー", "温度/センサー"],
    ["orders.eu", "orders.eu"],
    ["é", "é"],
    ["a\u200bb", '"a\\u{200B}b"'],
    ["\u202eevil", '"\\u{202E}evil"'],
    ["\u0301x", '"\\u{301}x"'],
    ['"quoted"', '"\\"quoted\\""'],
    ["back\\slash", '"back\\\\slash"'],
    ["a\ue000", '"a\\u{E000}"'],
  ])("%p shows as %s", (name, shown) => {
    expect(showTopic(name)).toBe(shown);
  });

  test("JSON with unclear characters escaped reads back as the same value", () => {
    const value = { topic: "a\u200bb\u202e温度", offset: 1 };
    const line = clearJson(value);
    expect(line).toBe('{"topic":"a\\u200bb\\u202e温度","offset":1}');
    expect(JSON.parse(line)).toEqual(value);
  });
});
