import { defineCommand } from "citty";
import type { Subprocess } from "bun";
import { join } from "node:path";
import { HostSchema, PortSchema, PositiveCountSchema } from "../src/util/config-values.ts";
import { parseFlag, usageError } from "./cli-runner.ts";
import { logArgs, setUpLogging } from "./common-args.ts";
import { selfCommand } from "./self-command.ts";

export default defineCommand({
  meta: { name: "up", description: "Start a local cluster on this machine (brokers as child processes); Ctrl-C stops it" },
  args: {
    nodes: { type: "string", description: "Number of brokers", default: "3" },
    data: { type: "string", description: "Folder for the brokers' data (one subfolder each)", default: "./mqraft-data" },
    "base-port": { type: "string", description: "Port of the first broker; the others follow", default: "8000" },
    host: { type: "string", description: "Address to listen on", default: "127.0.0.1" },
    ...logArgs,
  },
  async run({ args }) {
    setUpLogging(args);
    const nodes = parseFlag("nodes", PositiveCountSchema, args.nodes);
    if (nodes > 9) throw usageError(`--nodes ${nodes}: a local cluster has at most 9 brokers`);
    const basePort = parseFlag("base-port", PortSchema, args["base-port"]);
    if (basePort + nodes - 1 > 65535) throw usageError(`--base-port ${basePort}: ${nodes} brokers do not fit below port 65536`);
    const host = parseFlag("host", HostSchema, args.host);
    const ids = Array.from({ length: nodes }, (_, i) => i + 1);
    const address = (id: number) => `${host}:${basePort + id - 1}`;
    const peers = ids.map((id) => `${id}=${address(id)}`).join(",");
    const children = new Map<number, Subprocess>();
    let stopping = false;
    for (const id of ids) {
      const child = Bun.spawn(
        [...selfCommand(), "broker", "--id", String(id), "--host", host, "--port", String(basePort + id - 1), "--peers", peers,
          "--data", join(args.data, String(id)), "--log-level", args["log-level"], "--log-format", args["log-format"]],
        { stdin: "ignore", stdout: "inherit", stderr: "inherit" },
      );
      children.set(id, child);
      void child.exited.then((code) => {
        if (!stopping) console.error(`mqraft up: broker ${id} exited with ${code ?? child.signalCode}; the others keep running`);
      });
    }
    const servers = ids.map(address).join(",");
    console.log(
      [
        `mqraft: ${nodes} brokers on ${ids.map(address).join(", ")}; data in ${args.data}`,
        "Try, in another terminal:",
        `  mqraft sub topic1 --server ${servers}`,
        `  mqraft pub topic1 "Hello" --server ${servers}`,
        `  mqraft status --server ${servers}`,
        "Ctrl-C stops the cluster.",
      ].join("\n"),
    );
    await new Promise<void>((resolve) => {
      const stop = () => {
        if (stopping) return;
        stopping = true;
        for (const child of children.values()) child.kill("SIGTERM");
        void Promise.all([...children.values()].map((c) => c.exited)).then(() => resolve());
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
  },
});
