import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { defineCommand } from "citty";
import { writeNewSecretFile } from "../src/auth/secret-file.ts";
import { connect } from "../src/client/index.ts";
import { configArgs } from "../src/config/settings.ts";
import { HostSchema, HttpPortSchema, PortSchema, PositiveCountSchema } from "../src/util/config-values.ts";
import type { ClientTls } from "../src/wire/index.ts";
import { parseFlag, usageError } from "./cli-runner.ts";
import { logArgs, setUpLogging } from "./common-args.ts";
import { invocation, selfCommand } from "./self-command.ts";
import { upSecurity, upSecurityArgs } from "./up-security.ts";

export default defineCommand({
  meta: {
    name: "up",
    description: "Start a local cluster on this machine (brokers as child processes); Ctrl-C stops it",
  },
  args: {
    nodes: { type: "string", description: "Number of brokers", default: "3" },
    data: {
      type: "string",
      description: "Folder for the brokers' data (one subfolder each)",
      default: "./mqraft-data",
    },
    "base-port": { type: "string", description: "Port of the first broker; the others follow", default: "8000" },
    host: { type: "string", description: "Address to listen on", default: "127.0.0.1" },
    "manager-port": {
      type: "string",
      description: "Port of the cluster manager (clients' default server)",
      default: "8888",
    },
    "http-port": { type: "string", description: "Manager's HTTP port (/metrics, dashboard; 0: off)", default: "8080" },
    "http-base-port": {
      type: "string",
      description: "Broker i serves /metrics on this port + i (0: off)",
      default: "9000",
    },
    "cluster-secret-file": {
      type: "string",
      description: "The cluster secret every node proves (default: <data>/cluster-secret, made with 32 random bytes)",
    },
    ...upSecurityArgs,
    ...logArgs,
    ...configArgs,
  },
  async run({ args }) {
    setUpLogging(args);
    const nodes = parseFlag("nodes", PositiveCountSchema, args.nodes);
    if (nodes > 9) throw usageError(`--nodes ${nodes}: a local cluster has at most 9 brokers`);
    const basePort = parseFlag("base-port", PortSchema, args["base-port"]);
    if (basePort + nodes - 1 > 65535)
      throw usageError(`--base-port ${basePort}: ${nodes} brokers do not fit below port 65536`);
    const host = parseFlag("host", HostSchema, args.host);
    const managerPort = parseFlag("manager-port", PortSchema, args["manager-port"]);
    const http = upHttpPorts(
      parseFlag("http-port", HttpPortSchema, args["http-port"]),
      parseFlag("http-base-port", HttpPortSchema, args["http-base-port"]),
      nodes,
    );
    const security = upSecurity(args);
    refuseFewerNodesThanFolders(args.data, nodes);
    const secretFile = args["cluster-secret-file"] ?? ensureSecretFile(args.data);
    // listening on every address is fine, but peers and clients need one they can dial
    const reach = isWildcard(host) ? "127.0.0.1" : host;
    const manager = `${reach}:${managerPort}`;
    const ids = Array.from({ length: nodes }, (_, i) => i + 1);
    const address = (id: number) => `${reach}:${basePort + id - 1}`;
    const peers = ids.map((id) => `${id}=${address(id)}`).join(",");
    const children = new Map<number, Subprocess>();
    let stopping = false;
    let running = nodes + 1;
    /**
     * With no child left there is nothing to stop or wait for: say so and exit instead of waiting for Ctrl-C (Bun 1.4.5
     * also busy-spins at 100 % CPU when signal listeners are all its event loop waits on).
     */
    const exited = (): void => {
      if (--running > 0 || stopping) return;
      console.error("mqraft up: every broker and the manager exited (see above); stopping");
      process.exit(1);
    };
    // the children read the same file: its [broker] and [manager] tables (their flags from up still win)
    const childFlags = [
      ...["--cluster-secret-file", secretFile],
      ...security.nodeFlags,
      ...["--log-level", args["log-level"], "--log-format", args["log-format"]],
      ...(args.config === undefined ? [] : ["--config", args.config]),
    ];
    const managerProcess = Bun.spawn(
      [...selfCommand(), "manager", "--host", host, "--port", String(managerPort), ...http.managerFlags, ...childFlags],
      {
        stdin: "ignore",
        stdout: "inherit",
        stderr: "inherit",
      },
    );
    void managerProcess.exited.then((code) => {
      if (!stopping)
        console.error(
          `mqraft up: the manager exited with ${code ?? managerProcess.signalCode}; the brokers keep running`,
        );
      exited();
    });
    for (const id of ids) {
      const child = Bun.spawn(
        [
          ...selfCommand(),
          "broker",
          "--id",
          String(id),
          "--host",
          host,
          "--port",
          String(basePort + id - 1),
          "--advertise",
          address(id),
          "--peers",
          peers,
          "--data",
          join(args.data, String(id)),
          "--manager",
          manager,
          ...http.brokerFlags(id),
          ...security.brokerFlags,
          ...childFlags,
        ],
        { stdin: "ignore", stdout: "inherit", stderr: "inherit" },
      );
      children.set(id, child);
      void child.exited.then((code) => {
        if (!stopping)
          console.error(`mqraft up: broker ${id} exited with ${code ?? child.signalCode}; the others keep running`);
        exited();
      });
    }
    const hint = `${managerPort === 8888 && reach === "127.0.0.1" ? "" : ` --server ${manager}`}${security.clientHint}`;
    const mqraft = invocation();
    console.log(
      `mqraft: ${nodes} broker${nodes === 1 ? "" : "s"} on ${ids.map(address).join(", ")}, manager on ${manager}; data in ${args.data}`,
    );
    // the hints only once the cluster answers with a leader: after a failed start they would only mislead
    const servers = [manager, ...ids.map(address)];
    void untilLeader(servers, security.clientTls, () => running === nodes + 1 && !stopping).then((leader) => {
      if (leader === undefined) return;
      console.log(
        [
          `Leader: node ${leader}. Try, in another terminal:`,
          `  ${mqraft} sub topic1${hint}`,
          `  ${mqraft} pub topic1 "Hello"${hint}`,
          `  ${mqraft} status${hint}`,
          ...http.urls(reach, security.https),
          `  ${mqraft} join --manager ${manager} --id ${nodes + 1} --port ${basePort + nodes} --data ${join(args.data, String(nodes + 1))} --cluster-secret-file ${secretFile}${[...security.nodeFlags, ...security.brokerFlags].map((f) => ` ${f}`).join("")}`,
          "Ctrl-C stops the cluster.",
        ].join("\n"),
      );
    });
    await new Promise<void>((resolve) => {
      const stop = () => {
        if (stopping) return;
        stopping = true;
        for (const child of [...children.values(), managerProcess]) child.kill("SIGTERM");
        void Promise.all([...children.values(), managerProcess].map((c) => c.exited)).then(() => resolve());
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
  },
});

/** `<data>/cluster-secret`, made (mode 0600, 32 random bytes) if the folder has none yet, so links between the local nodes are authenticated. */
function ensureSecretFile(data: string): string {
  const path = join(data, "cluster-secret");
  if (existsSync(path)) return path;
  mkdirSync(data, { recursive: true });
  writeNewSecretFile(path);
  return path;
}

/** The HTTP ports of mqraft up: the manager's, and broker i's at base + i; 0 turns either off. */
function upHttpPorts(managerPort: number, basePort: number, nodes: number) {
  if (basePort !== 0 && basePort + nodes > 65535)
    throw usageError(`--http-base-port ${basePort}: ${nodes} brokers do not fit below port 65536`);
  const urlHost = (host: string) => (host.includes(":") ? `[${host}]` : host);
  return {
    managerFlags: managerPort === 0 ? [] : ["--http-port", String(managerPort)],
    brokerFlags: (id: number) => (basePort === 0 ? [] : ["--http-port", String(basePort + id)]),
    urls: (host: string, https: boolean) => {
      const scheme = https ? "https" : "http";
      return [
        ...(managerPort === 0 ? [] : [`Dashboard and manager metrics: ${scheme}://${urlHost(host)}:${managerPort}/`]),
        ...(basePort === 0
          ? []
          : [
              `Broker metrics: ${Array.from({ length: nodes }, (_, i) => `${scheme}://${urlHost(host)}:${basePort + i + 1}/metrics`).join(" ")}`,
            ]),
      ];
    },
  };
}

const isWildcard = (host: string): boolean => host === "0.0.0.0" || host === "::" || host === "[::]";

/** How long `up` waits for a leader before it stops offering hints. */
const LEADER_WAIT_MS = 30_000;

/** The leader's id once the cluster has one, or undefined if `healthy()` turns false (a child exited) or time runs out. */
async function untilLeader(
  servers: string[],
  tls: ClientTls | undefined,
  healthy: () => boolean,
): Promise<number | undefined> {
  const deadline = performance.now() + LEADER_WAIT_MS;
  while (healthy() && performance.now() < deadline) {
    try {
      const client = await connect({ servers, timeoutMs: 1000, ...(tls === undefined ? {} : { tls }) });
      try {
        const { leader } = await client.status();
        if (leader !== null && healthy()) return leader;
      } finally {
        await client.close();
      }
    } catch {
      // not up yet
    }
    await Bun.sleep(200);
  }
  return undefined;
}

/**
 * Brokers 1..N of a folder that once held more would never elect: the log's configuration counts the missing ones
 * as voters, so a majority is out of reach. Said at once instead of a cluster that waits forever.
 */
function refuseFewerNodesThanFolders(data: string, nodes: number): void {
  if (!existsSync(data)) return;
  const used = readdirSync(data)
    .filter((name) => /^\d+$/.test(name) && existsSync(join(data, name, "hardstate")))
    .map(Number)
    .sort((a, b) => a - b);
  const beyond = used.filter((id) => id > nodes);
  if (beyond.length > 0)
    throw usageError(
      `--nodes ${nodes}: ${data} holds the data of brokers ${used.join(", ")}; a cluster started with fewer cannot reach a majority of its voters: use --nodes ${Math.max(...used)} or another --data folder`,
    );
}
