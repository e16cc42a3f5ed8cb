import { afterEach, describe, expect, test } from "bun:test";
import { configureLogging, createLogger } from "../../src/util/log.ts";

afterEach(() => configureLogging({ level: "info", format: "text" }));

describe("logging", () => {
  test("text lines have the demo's shape and follow the role as it changes", () => {
    const lines: string[] = [];
    configureLogging({ level: "info", format: "text", write: (l) => lines.push(l) });
    let role = "FOLLOWER";
    const log = createLogger(() => `Broker 8000 ${role}`);
    log.info("Running on 127.0.0.1:8000");
    role = "LEADER";
    log.info("New leader 127.0.0.1:8000");
    log.debug("not shown at info");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[Broker 8000 FOLLOWER\] INFO: Running on 127\.0\.0\.1:8000$/,
    );
    expect(lines[1]).toMatch(/\[Broker 8000 LEADER\] INFO: New leader 127\.0\.0\.1:8000$/);
  });

  test("json lines carry level, tag, message and fields; repeated lines are not folded", () => {
    const lines: string[] = [];
    configureLogging({ level: "debug", format: "json", write: (l) => lines.push(l) });
    const log = createLogger(() => "ClusterManager 8888");
    for (let i = 0; i < 10; i++) log.debug("Send heartbeat", { to: 2 });
    expect(lines).toHaveLength(10);
    const parsed = JSON.parse(lines[0] as string);
    expect(parsed).toMatchObject({ level: "debug", tag: "ClusterManager 8888", msg: "Send heartbeat", to: 2 });
    expect(log.enabled("trace")).toBe(false);
    expect(log.enabled("debug")).toBe(true);
  });
});
