import { defineCommand } from "citty";
import * as v from "valibot";
import { configArgs } from "../src/config/settings.ts";
import { type BrokerConfig, BrokerConfigSchema } from "../src/node/broker-config.ts";
import { BrokerNode } from "../src/node/broker-node.ts";
import {
  AddressListSchema,
  ByteSizeSchema,
  CountSchema,
  DurationSchema,
  HostSchema,
  HttpPortSchema,
  NodeIdSchema,
  PeersSchema,
  PortSchema,
  PositiveCountSchema,
} from "../src/util/config-values.ts";
import { parseFlag, parseOptionalFlag, usageError } from "./cli-runner.ts";
import { askMembers } from "./cluster-members.ts";
import { logArgs, setUpLogging } from "./common-args.ts";
import { tlsFilesFrom, tlsServerArgs } from "./tls-flags.ts";

export const brokerArgs = {
  id: { type: "string", description: "This broker's node id (a whole number from 1)", default: "1" },
  host: { type: "string", description: "Address to listen on", default: "127.0.0.1" },
  port: { type: "string", description: "Port for clients and peers", default: "8000" },
  peers: {
    type: "string",
    description: "Initial cluster, this broker included: 1=host:port,2=host:port,... (none: a one-node cluster)",
  },
  data: { type: "string", description: "Data folder (default ./mqraft-data/<id>)" },
  advertise: { type: "string", description: "host:port others use to reach this broker (default host:port)" },
  manager: { type: "string", description: "Managers to report to, host:port[,host:port...]" },
  "heartbeat-ms": { type: "string", description: "Leader heartbeat interval in ms", default: "100" },
  "election-ms": {
    type: "string",
    description: "Election timeout in ms (randomised up to twice this)",
    default: "1000",
  },
  "retain-messages": { type: "string", description: "Keep at most this many messages per topic" },
  "retain-bytes": { type: "string", description: "Keep at most this many bytes per topic (e.g. 1GB)" },
  "retain-age": { type: "string", description: "Drop messages older than this (e.g. 7d)" },
  "max-frame": { type: "string", description: "Largest frame accepted", default: "16MiB" },
  repair: {
    type: "boolean",
    description: "Start on a corrupt log: cut it at the first bad record, then catch up from the leader without voting",
  },
  "remove-dead-after": {
    type: "string",
    description: "Remove a member unreachable for this long, e.g. 60s (default: never)",
  },
  "segment-bytes": { type: "string", description: "Size of one log segment file", default: "64MiB" },
  "min-free-space": {
    type: "string",
    description:
      "Refuse publishes (DISK_FULL) while the data folder's disk has less free space (default: 1GiB or 5% of the disk)",
  },
  "snapshot-every": { type: "string", description: "Applied log entries between two snapshots", default: "10000" },
  "max-snapshot": {
    type: "string",
    description: "Largest snapshot transfer from a leader this broker writes to its disk; a larger one is refused",
    default: "64GiB",
  },
  "http-port": { type: "string", description: "Port for /metrics, /healthz, /readyz, /status (0: off)", default: "0" },
  "ready-lag": {
    type: "string",
    description: "/readyz fails while applied is more than this many entries behind commit",
    default: "1000",
  },
  "cluster-secret-file": {
    type: "string",
    description: "File holding the secret every node of the cluster shares (mode 0600); links between nodes prove it",
  },
  "previous-cluster-secret-file": {
    type: "string",
    description:
      "During a rotation: the secret being replaced, still proved and accepted beside --cluster-secret-file (docs/security.md)",
  },
  "max-connections": {
    type: "string",
    description: "Connections open at once (clients, peers, and those still saying hello); more are refused",
    default: "10000",
  },
  "max-pending": {
    type: "string",
    description: "Bytes waiting to be sent to one connection; past it the connection is closed (SLOW_CONSUMER)",
    default: "64MiB",
  },
  "hello-timeout": {
    type: "string",
    description: "A new connection must finish its TLS handshake, and then its hello, within this long (100ms to 10m)",
    default: "5s",
  },
  ...tlsServerArgs,
  "admin-token-file": {
    type: "string",
    description:
      "File holding a token (mode 0600, 16+ bytes) this broker accepts as an admin's; with it, clients need tokens",
  },
  ...logArgs,
  ...configArgs,
} as const;

type BrokerArgs = { [K in Exclude<keyof typeof brokerArgs, "repair">]?: string } & { repair?: boolean };

/** Turns the flags into a validated BrokerConfig, or a usage error naming the flag. */
export function brokerConfigFromArgs(args: BrokerArgs, joining = false): BrokerConfig {
  const id = parseFlag("id", NodeIdSchema, args.id ?? "1");
  const host = parseFlag("host", HostSchema, args.host ?? "127.0.0.1");
  const port = parseFlag("port", PortSchema, args.port ?? "8000");
  if (args.advertise === undefined && (host === "0.0.0.0" || host === "::"))
    throw usageError(
      `--host ${host} listens on every address, which no peer or client can dial: add --advertise host:port, the address others reach this broker at`,
    );
  const advertise = args.advertise ?? `${host.includes(":") ? `[${host}]` : host}:${port}`;
  // A joining broker starts with no configuration: it learns it from the leader once added.
  const peers = joining ? [] : (parseOptionalFlag("peers", PeersSchema, args.peers) ?? [{ id, address: advertise }]);
  const raw = {
    id,
    host,
    port,
    advertise,
    peers,
    dataDir: args.data ?? `./mqraft-data/${id}`,
    managers: parseOptionalFlag("manager", AddressListSchema, args.manager) ?? [],
    heartbeatMs: parseFlag("heartbeat-ms", DurationSchema, args["heartbeat-ms"] ?? "100"),
    electionMs: parseFlag("election-ms", DurationSchema, args["election-ms"] ?? "1000"),
    retention: {
      maxMessages: parseOptionalFlag("retain-messages", PositiveCountSchema, args["retain-messages"]),
      maxBytes: parseOptionalFlag("retain-bytes", ByteSizeSchema, args["retain-bytes"]),
      maxAgeMs: parseOptionalFlag("retain-age", DurationSchema, args["retain-age"]),
    },
    maxFrameBytes: parseFlag("max-frame", ByteSizeSchema, args["max-frame"] ?? "16MiB"),
    repair: args.repair === true,
    removeDeadAfterMs: parseOptionalFlag("remove-dead-after", DurationSchema, args["remove-dead-after"]),
    segmentBytes: parseFlag("segment-bytes", ByteSizeSchema, args["segment-bytes"] ?? "64MiB"),
    minFreeBytes: parseOptionalFlag("min-free-space", ByteSizeSchema, args["min-free-space"]),
    snapshotEvery: parseFlag("snapshot-every", PositiveCountSchema, args["snapshot-every"] ?? "10000"),
    maxSnapshotBytes: parseFlag("max-snapshot", ByteSizeSchema, args["max-snapshot"] ?? "64GiB"),
    httpPort: parseFlag("http-port", HttpPortSchema, args["http-port"] ?? "0"),
    readyLag: parseFlag("ready-lag", CountSchema, args["ready-lag"] ?? "1000"),
    ...(args["cluster-secret-file"] === undefined ? {} : { clusterSecretFile: args["cluster-secret-file"] }),
    ...(args["previous-cluster-secret-file"] === undefined
      ? {}
      : { previousClusterSecretFile: args["previous-cluster-secret-file"] }),
    tls: tlsFilesFrom(args),
    maxConnections: parseFlag("max-connections", PositiveCountSchema, args["max-connections"] ?? "10000"),
    maxPendingBytes: parseFlag("max-pending", ByteSizeSchema, args["max-pending"] ?? "64MiB"),
    helloTimeoutMs: parseFlag("hello-timeout", DurationSchema, args["hello-timeout"] ?? "5s"),
    ...(args["admin-token-file"] === undefined ? {} : { adminTokenFile: args["admin-token-file"] }),
  };
  const result = v.safeParse(BrokerConfigSchema, raw);
  if (!result.success) {
    const issue = result.issues[0];
    const path = issue ? v.getDotPath(issue) : null;
    throw usageError(`${path ? `${path}: ` : ""}${issue?.message ?? "invalid broker configuration"}`);
  }
  return result.output;
}

export default defineCommand({
  meta: { name: "broker", description: "Run a broker: one Raft node that stores, replicates and serves topics" },
  args: brokerArgs,
  async run({ args }) {
    setUpLogging(args);
    const config = brokerConfigFromArgs(args);
    // an empty folder asks the other founders whether their cluster already runs (docs/storage.md, "An empty data folder")
    const others = config.peers.filter((p) => p.id !== config.id).map((p) => p.address);
    const node = await BrokerNode.start(config, () => askMembers(others));
    // A planned stop hands leadership on first, so a rolling restart loses no availability.
    const stop = () => void node.handOffLeadership().then(() => node.stop());
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    // a renewed certificate: read the TLS files again; connections made from now on use them
    process.on("SIGHUP", () => node.reloadTls());
    const reason = await node.stopped;
    if (reason !== null) throw reason;
    node.log.info("Stopped");
  },
});
