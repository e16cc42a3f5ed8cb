/** The manager process: cluster map from broker reports, forwarding of one-shot requests, a directory for clients. */
export { ClusterManager } from "./cluster-manager.ts";
export { type ManagerConfig, type ManagerConfigInput, ManagerConfigSchema } from "./manager-config.ts";
