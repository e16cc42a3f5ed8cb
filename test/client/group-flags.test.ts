import { describe, expect, test } from "bun:test";
import { parseSubArgs } from "../../cmd/sub.ts";
import { usageMessage } from "./usage-message.ts";

const server = "127.0.0.1:8000";

describe("sub --group flags", () => {
  test("a group member's settings, durations and counts parsed", () => {
    const s = parseSubArgs({
      topic: "jobs",
      _: ["jobs"],
      server,
      group: "workers",
      exec: "./job.sh",
      member: "w1",
      "ack-wait": "2m",
      "max-deliver": "3",
      "dead-letter": "jobs.failed",
      "max-pending": "50",
    });
    expect(s.group).toEqual({
      group: "workers",
      exec: "./job.sh",
      member: "w1",
      ackWaitMs: 120_000,
      maxDeliver: 3,
      deadLetter: "jobs.failed",
      maxPending: 50,
    });
  });

  test("without --group there is no group, and its flags are refused by name", () => {
    expect(parseSubArgs({ topic: "jobs", _: ["jobs"], server }).group).toBeUndefined();
    expect(usageMessage(() => parseSubArgs({ topic: "jobs", _: ["jobs"], server, exec: "true" }))).toContain(
      "--exec needs --group",
    );
    expect(usageMessage(() => parseSubArgs({ topic: "jobs", _: ["jobs"], server, "ack-wait": "5s" }))).toContain(
      "--ack-wait needs --group",
    );
  });

  test("one topic, bounded counts, a valid duration, a command that is not blank", () => {
    const base = { server, group: "workers" };
    expect(usageMessage(() => parseSubArgs({ ...base, topic: "a", _: ["a", "b"] }))).toContain("one topic");
    // a group reads a pattern's topics too
    expect(parseSubArgs({ ...base, topic: "orders.>", _: ["orders.>"] }).group?.group).toBe("workers");
    expect(usageMessage(() => parseSubArgs({ ...base, topic: "a", _: ["a"], "max-deliver": "0" }))).toContain(
      "--max-deliver",
    );
    expect(usageMessage(() => parseSubArgs({ ...base, topic: "a", _: ["a"], "max-deliver": "1001" }))).toContain(
      "at most 1000",
    );
    expect(usageMessage(() => parseSubArgs({ ...base, topic: "a", _: ["a"], "max-pending": "10001" }))).toContain(
      "at most 10000",
    );
    expect(usageMessage(() => parseSubArgs({ ...base, topic: "a", _: ["a"], "ack-wait": "soon" }))).toContain(
      "--ack-wait",
    );
    expect(usageMessage(() => parseSubArgs({ ...base, topic: "a", _: ["a"], exec: "  " }))).toContain("--exec");
    expect(usageMessage(() => parseSubArgs({ ...base, topic: "a", _: ["a"], group: "bad name" }))).toContain("--group");
  });
});
