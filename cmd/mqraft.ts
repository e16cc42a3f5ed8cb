#!/usr/bin/env bun
import { defineCommand } from "citty";
import pkg from "../package.json" with { type: "json" };
import { exitOnUncaughtErrors } from "../src/util/fatal-errors.ts";
import { installTestGc } from "../src/util/test-gc.ts";
import { runCli } from "./cli-runner.ts";

// Subcommands load lazily so that `mqraft pub` does not pay for the broker's code at start-up.
// A subcommand appears here only once it works.
export const root = defineCommand({
  meta: {
    name: "mqraft",
    version: pkg.version,
    description: "Raft-replicated publish/subscribe message broker",
  },
  subCommands: {
    broker: () => import("./broker.ts").then((m) => m.default),
    manager: () => import("./manager.ts").then((m) => m.default),
    up: () => import("./up.ts").then((m) => m.default),
    pub: () => import("./pub.ts").then((m) => m.default),
    sub: () => import("./sub.ts").then((m) => m.default),
    status: () => import("./status.ts").then((m) => m.default),
    inspect: () => import("./inspect.ts").then((m) => m.default),
    join: () => import("./join.ts").then((m) => m.default),
    leave: () => import("./leave.ts").then((m) => m.default),
    leader: () => import("./leader.ts").then((m) => m.default),
    topic: () => import("./topic.ts").then((m) => m.default),
    durable: () => import("./durable.ts").then((m) => m.default),
    snapshot: () => import("./snapshot.ts").then((m) => m.default),
    user: () => import("./user.ts").then((m) => m.default),
    retention: () => import("./retention.ts").then((m) => m.default),
    group: () => import("./group.ts").then((m) => m.default),
    bench: () => import("./bench.ts").then((m) => m.default),
    config: () => import("./config.ts").then((m) => m.default),
    top: () => import("./top.ts").then((m) => m.default),
  },
});

if (import.meta.main) {
  exitOnUncaughtErrors();
  installTestGc();
  process.exit(await runCli(root, process.argv.slice(2)));
}
