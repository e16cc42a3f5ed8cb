import { describe, expect, test } from "bun:test";
import { anyCovers, patternCovers, patternMatches } from "../../src/auth/topic-permission.ts";

describe("permission patterns", () => {
  const cases: [pattern: string, topic: string, allowed: boolean][] = [
    ["orders", "orders", true],
    ["orders", "orders1", false],
    ["orders*", "orders1", true],
    ["orders*", "orders", true],
    ["orders*", "orders.eu.1", true],
    ["orders*", "billing", false],
    ["orders*", "xorders", false],
    ["orders.*", "orders.eu", true],
    ["orders.*", "orders.eu.1", false],
    ["orders.*", "orders", false],
    ["orders.>", "orders.eu", true],
    ["orders.>", "orders.eu.1", true],
    ["orders.>", "orders", false],
    ["*.created", "orders.created", true],
    ["*.created", "orders.deleted", false],
    [">", "anything.at.all", true],
    ["*", "one", true],
    ["*", "one.two", false],
    ["a.>.b", "a.x.b", false],
  ];
  for (const [pattern, topic, allowed] of cases) {
    test(`${pattern} ${allowed ? "allows" : "refuses"} ${topic}`, () => {
      expect(patternMatches(pattern, topic)).toBe(allowed);
      expect(patternCovers(pattern, topic)).toBe(allowed);
    });
  }

  const subscriptions: [pattern: string, requested: string, covered: boolean][] = [
    ["orders.>", "orders.*", true],
    ["orders.>", "orders.>", true],
    ["orders.>", ">", false],
    ["orders.*", "orders.*", true],
    ["orders.*", "orders.>", false],
    ["orders.eu", "orders.*", false],
    ["*.created", "*.created", true],
    ["*.created", "orders.*", false],
    [">", "orders.>", true],
    ["orders*", "orders.>", true],
    ["orders*", "ord.>", false],
    ["orders*", "*.x", false],
    ["orders.>", "orders.*.x", true],
  ];
  for (const [pattern, requested, covered] of subscriptions) {
    test(`${pattern} ${covered ? "covers" : "does not cover"} a subscription to ${requested}`, () => {
      expect(patternCovers(pattern, requested)).toBe(covered);
    });
  }

  test("no pattern allows nothing; any one of several is enough", () => {
    expect(anyCovers([], "orders")).toBe(false);
    expect(anyCovers(["billing", "orders*"], "orders1")).toBe(true);
  });
});
