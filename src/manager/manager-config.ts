import * as v from "valibot";
import { DEFAULT_MAX_FRAME_BYTES } from "../wire/index.ts";

const whole = (min: number) => v.pipe(v.number(), v.safeInteger(), v.minValue(min));

/** Everything a manager process needs to start, validated once; every field but the address has a default. */
export const ManagerConfigSchema = v.object({
  host: v.pipe(v.string(), v.minLength(1)),
  /** 0 picks a free port (tests). */
  port: v.pipe(whole(0), v.maxValue(65535)),
  /** Connections open at once; one more is answered REFUSED and closed. */
  maxConnections: v.optional(whole(1), 10_000),
  maxFrameBytes: v.optional(whole(1024), DEFAULT_MAX_FRAME_BYTES),
  /** A forwarded request that no leader answered within this is answered NO_LEADER (or TIMEOUT if one took it). */
  requestTimeoutMs: v.optional(whole(1), 8_000),
  /** A leader that has not reported for this long is forgotten; the members it reported are kept. */
  leaderStaleMs: v.optional(whole(1), 2_000),
  /** A connection that has not said hello within this is closed, so idle sockets cannot pile up. */
  helloTimeoutMs: v.optional(whole(1), 10_000),
  /** Forwarded requests one client may have waiting; past it the manager stops reading from that client. */
  maxInFlightPerClient: v.optional(whole(1), 1_000),
  /** Connections to brokers opened with clients' tokens, all tokens together (docs/security.md). */
  maxTokenLinks: v.optional(whole(1), 1_000),
  /** Connections to brokers opened with one client token: one per broker a request of it went to. */
  maxLinksPerToken: v.optional(whole(1), 8),
  /** Port of /metrics, /healthz, /readyz, /status (and the dashboard) on `host`; 0 serves none. */
  httpPort: v.optional(v.pipe(whole(0), v.maxValue(65535)), 0),
  /** With it, links to and from brokers open with the cluster-secret challenge (docs/security.md). */
  clusterSecretFile: v.optional(v.pipe(v.string(), v.minLength(1))),
  previousClusterSecretFile: v.optional(v.pipe(v.string(), v.minLength(1))),
  /** PEM files (docs/security.md): with cert and key, TLS only on the manager's port; ca verifies the brokers. */
  tls: v.optional(
    v.object({ cert: v.optional(v.string()), key: v.optional(v.string()), ca: v.optional(v.string()) }),
    {},
  ),
});
export type ManagerConfigInput = v.InferInput<typeof ManagerConfigSchema>;
export type ManagerConfig = v.InferOutput<typeof ManagerConfigSchema>;
