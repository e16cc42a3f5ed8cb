/** `--hello-timeout`: a duration from 100ms to 10m, 5s by default; a bad value is a usage error naming the flag. */
import { expect, test } from "bun:test";
import { brokerConfigFromArgs } from "../../cmd/broker.ts";

function outcome(value?: string): number | string {
  try {
    return brokerConfigFromArgs(value === undefined ? {} : { "hello-timeout": value }).helloTimeoutMs;
  } catch (e) {
    return e instanceof Error ? `${(e as { code?: string }).code}: ${e.message}` : String(e);
  }
}

test("--hello-timeout takes a duration from 100ms to 10m and is 5s by default", () => {
  expect([undefined, "1s", "100ms", "10m"].map(outcome)).toEqual([5_000, 1_000, 100, 600_000]);
});

test("a --hello-timeout too short, too long or not a duration is a usage error that names the flag", () => {
  const refused = ["50ms", "11m", "soon"].map(outcome);
  expect(refused.slice(0, 2)).toEqual([
    "BAD_USAGE: helloTimeoutMs: --hello-timeout must be at least 100ms",
    "BAD_USAGE: helloTimeoutMs: --hello-timeout must be at most 10m",
  ]);
  expect(String(refused[2])).toStartWith("BAD_USAGE: --hello-timeout");
});
