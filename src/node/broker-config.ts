import * as v from "valibot";
import { HIGH_WATER_BYTES } from "./subscription-feed.ts";

/** Everything a broker process needs to start, validated once (flags are parsed into this). */
export const BrokerConfigSchema = v.pipe(
  v.object({
    id: v.pipe(v.number(), v.integer(), v.minValue(1)),
    host: v.pipe(v.string(), v.minLength(1)),
    port: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535)),
    /** Address other nodes and clients use to reach this broker ("host:port"). */
    advertise: v.string(),
    /** Initial voters, this node included; empty for a node that joins an existing cluster. */
    peers: v.array(v.object({ id: v.number(), address: v.string() })),
    dataDir: v.pipe(v.string(), v.minLength(1)),
    managers: v.array(v.string()),
    heartbeatMs: v.pipe(v.number(), v.integer(), v.minValue(10, "heartbeat must be at least 10 ms")),
    electionMs: v.pipe(v.number(), v.integer(), v.minValue(50, "election timeout must be at least 50 ms")),
    retention: v.object({
      maxMessages: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
      maxBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
      maxAgeMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
    }),
    maxFrameBytes: v.pipe(v.number(), v.integer(), v.minValue(1024)),
    /** A log segment file is closed and a new one started past this size; compaction removes whole segments. */
    segmentBytes: v.pipe(v.number(), v.integer(), v.minValue(4096, "segments must be at least 4 KiB")),
    /** Remove a member the leader has not reached for this long (off when absent). */
    removeDeadAfterMs: v.optional(
      v.pipe(v.number(), v.integer(), v.minValue(1000, "--remove-dead-after must be at least 1s")),
    ),
    /** Start on a corrupt log by cutting it at the first bad record (see docs/storage.md), then catch up from the leader. */
    repair: v.boolean(),
    /** Applied entries between two snapshots of the state machine. */
    snapshotEvery: v.pipe(v.number(), v.integer(), v.minValue(1)),
    /** The largest snapshot transfer from a leader this broker writes to its disk (snapshot-file-receiver.ts). */
    maxSnapshotBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 64 * 2 ** 30),
    /** The disk alarm is raised below this many free bytes (docs/disk-full.md); absent: 1 GiB or 5 % of the disk. */
    minFreeBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
    /** Port of /metrics, /healthz, /readyz and /status on `host`; 0 serves none. */
    httpPort: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65535)), 0),
    /** With it, links between nodes open with the cluster-secret challenge (docs/security.md). */
    clusterSecretFile: v.optional(v.pipe(v.string(), v.minLength(1))),
    previousClusterSecretFile: v.optional(v.pipe(v.string(), v.minLength(1))),
    /** Connections open at once (clients, peers and those still saying hello); more are refused. */
    maxConnections: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 10_000),
    /** A new connection that has not finished its TLS handshake, or its hello (with its proof or token), by then is closed. */
    helloTimeoutMs: v.optional(
      v.pipe(
        v.number(),
        v.integer(),
        v.minValue(100, "--hello-timeout must be at least 100ms"),
        v.maxValue(600_000, "--hello-timeout must be at most 10m"),
      ),
      5_000,
    ),
    /** Bytes waiting to be sent to one connection; past it the connection is closed with SLOW_CONSUMER. */
    maxPendingBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 64 * 1024 * 1024),
    /** PEM files (docs/security.md): with cert and key, TLS only on this broker's port; ca verifies the other side. */
    tls: v.optional(
      v.object({ cert: v.optional(v.string()), key: v.optional(v.string()), ca: v.optional(v.string()) }),
      {},
    ),
    /** With it, this broker accepts the token in this file as an admin's, and requires tokens (docs/security.md). */
    adminTokenFile: v.optional(v.pipe(v.string(), v.minLength(1))),
    /** /readyz answers 503 while the applied index is more than this many entries behind the commit index. */
    readyLag: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0)), 1000),
  }),
  v.check((c) => c.electionMs >= 3 * c.heartbeatMs, "election timeout must be at least 3 heartbeats"),
  // a subscriber's stream pauses once this much is unsent, and the message that took it there must still fit
  v.check(
    (c) => c.maxPendingBytes >= HIGH_WATER_BYTES + c.maxFrameBytes,
    `--max-pending must be at least --max-frame + ${HIGH_WATER_BYTES >> 20}MiB (a subscriber's stream pauses at ${HIGH_WATER_BYTES >> 20}MiB unsent, plus one message)`,
  ),
  v.check(
    (c) => c.peers.length === 0 || c.peers.some((p) => p.id === c.id),
    "--peers must include this broker's own --id",
  ),
);
export type BrokerConfig = v.InferOutput<typeof BrokerConfigSchema>;
