import { describe, expect, test } from "bun:test";
import { parseBenchArgs } from "../../cmd/bench-flags.ts";
import { LatencyRecorder, percentile, summarize } from "../../cmd/bench-stats.ts";
import { usageMessage } from "../client/usage-message.ts";

describe("mqraft bench flags", () => {
  test("defaults: 100,000 messages of 128 bytes, 1 client, window 1,000, unpaced, from earliest", () => {
    const s = parseBenchArgs("pub", { topic: "t", server: "127.0.0.1:9000" });
    expect(s).toEqual({
      topic: "t",
      servers: ["127.0.0.1:9000"],
      json: false,
      msgs: 100_000,
      size: 128,
      clients: 1,
      subs: 1,
      window: 1_000,
      rate: undefined,
      from: "earliest",
      timeoutMs: 10_000,
    });
  });

  test("every flag is read", () => {
    const s = parseBenchArgs("e2e", {
      topic: "orders",
      server: "127.0.0.1:1,127.0.0.1:2",
      json: true,
      msgs: "500",
      size: "1024",
      clients: "3",
      subs: "2",
      window: "1",
      rate: "1000",
      from: "latest",
      timeout: "2.5",
    });
    expect(s).toEqual({
      topic: "orders",
      servers: ["127.0.0.1:1", "127.0.0.1:2"],
      json: true,
      msgs: 500,
      size: 1024,
      clients: 3,
      subs: 2,
      window: 1,
      rate: 1000,
      from: "latest",
      timeoutMs: 2500,
    });
  });

  test("bad values are usage errors that name the flag", () => {
    expect(usageMessage(() => parseBenchArgs("pub", { topic: "t", msgs: "0" }))).toContain("--msgs");
    expect(usageMessage(() => parseBenchArgs("pub", { topic: "t", msgs: "1e3" }))).toContain("--msgs");
    expect(usageMessage(() => parseBenchArgs("pub", { topic: "t", window: "5001" }))).toContain("--window");
    expect(usageMessage(() => parseBenchArgs("pub", { topic: "t", clients: "-1" }))).toContain("--clients");
    expect(usageMessage(() => parseBenchArgs("pub", { topic: "t", rate: "fast" }))).toContain("--rate");
    expect(usageMessage(() => parseBenchArgs("sub", { topic: "t", from: "7" }))).toContain("--from");
    expect(usageMessage(() => parseBenchArgs("pub", { topic: "t", server: "nowhere" }))).toContain("--server");
    expect(usageMessage(() => parseBenchArgs("pub", {}))).toContain("topic");
    expect(usageMessage(() => parseBenchArgs("pub", { topic: "t", _: ["t", "extra"] }))).toContain("extra");
  });

  test("a group's members hold --max-pending each; the flag needs --group", () => {
    expect(parseBenchArgs("e2e", { topic: "t", group: "g", "max-pending": "3000" }).maxPending).toBe(3000);
    expect(parseBenchArgs("e2e", { topic: "t", group: "g" }).maxPending).toBeUndefined();
    expect(usageMessage(() => parseBenchArgs("e2e", { topic: "t", "max-pending": "5" }))).toContain("needs --group");
    expect(usageMessage(() => parseBenchArgs("e2e", { topic: "t", group: "g", "max-pending": "10001" }))).toContain(
      "--max-pending",
    );
  });

  test("e2e needs room in the payload for the send time; pub does not", () => {
    expect(usageMessage(() => parseBenchArgs("e2e", { topic: "t", size: "7" }))).toContain("--size");
    expect(parseBenchArgs("pub", { topic: "t", size: "0" }).size).toBe(0);
  });
});

describe("mqraft bench statistics", () => {
  test("nearest-rank percentiles of 1..100 ms", () => {
    const r = new LatencyRecorder(100);
    for (let i = 100; i >= 1; i--) r.record(i);
    const sorted = r.sorted();
    expect([percentile(sorted, 0.5), percentile(sorted, 0.9), percentile(sorted, 0.99)]).toEqual([50, 90, 99]);
    expect(summarize(1000, 128, 2, r)).toEqual({
      msgs: 1000,
      seconds: 2,
      msgsPerSec: 500,
      MBps: 0.06,
      p50ms: 50,
      p90ms: 90,
      p99ms: 99,
      maxms: 100,
    });
  });

  test("no samples: zeros, not NaN", () => {
    const result = summarize(0, 128, 0, new LatencyRecorder(0));
    expect(Object.values(result).every((x) => x === 0)).toBe(true);
  });
});
