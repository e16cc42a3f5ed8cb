import { defineCommand } from "citty";
import { configArgs } from "../src/config/settings.ts";
import { ClusterManager, type ManagerConfigInput } from "../src/manager/index.ts";
import {
  ByteSizeSchema,
  HostSchema,
  HttpPortSchema,
  PortSchema,
  PositiveCountSchema,
} from "../src/util/config-values.ts";
import { isMqraftError } from "../src/util/errors.ts";
import { parseFlag, usageError } from "./cli-runner.ts";
import { logArgs, setUpLogging } from "./common-args.ts";
import { tlsFilesFrom, tlsServerArgs } from "./tls-flags.ts";

export default defineCommand({
  meta: {
    name: "manager",
    description:
      "Run a manager: a stateless front door that learns the cluster from the brokers (started with --manager) and forwards one-shot requests to the leader",
  },
  args: {
    host: { type: "string", description: "Address to listen on", default: "127.0.0.1" },
    port: { type: "string", description: "Port for clients and brokers", default: "8888" },
    "max-connections": { type: "string", description: "Connections open at once; more are refused", default: "10000" },
    "max-frame": { type: "string", description: "Largest frame accepted", default: "16MiB" },
    "http-port": {
      type: "string",
      description: "Port for /metrics, /healthz, /readyz, /status (0: off)",
      default: "0",
    },
    "cluster-secret-file": {
      type: "string",
      description: "File holding the secret every node of the cluster shares (mode 0600); links to brokers prove it",
    },
    "previous-cluster-secret-file": {
      type: "string",
      description:
        "During a rotation: the secret being replaced, still proved and accepted beside --cluster-secret-file (docs/security.md)",
    },
    ...tlsServerArgs,
    ...logArgs,
    ...configArgs,
  },
  async run({ args }) {
    setUpLogging(args);
    const manager = startManager({
      host: parseFlag("host", HostSchema, args.host),
      port: parseFlag("port", PortSchema, args.port),
      maxConnections: parseFlag("max-connections", PositiveCountSchema, args["max-connections"]),
      maxFrameBytes: parseFlag("max-frame", ByteSizeSchema, args["max-frame"]),
      httpPort: parseFlag("http-port", HttpPortSchema, args["http-port"]),
      ...(args["cluster-secret-file"] === undefined ? {} : { clusterSecretFile: args["cluster-secret-file"] }),
      ...(args["previous-cluster-secret-file"] === undefined
        ? {}
        : { previousClusterSecretFile: args["previous-cluster-secret-file"] }),
      tls: tlsFilesFrom(args),
    });
    const stop = () => manager.stop();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    process.on("SIGHUP", () => manager.reloadTls());
    await manager.stopped;
    manager.log.info("Stopped");
  },
});

/** A configuration the flags let through but the manager refuses (a frame limit below 1 KiB) is still a usage error. */
function startManager(config: ManagerConfigInput): ClusterManager {
  try {
    return ClusterManager.start(config);
  } catch (e) {
    throw isMqraftError(e, "BAD_CONFIG") ? usageError(e.message) : e;
  }
}
