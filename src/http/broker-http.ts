import { type BrokerMetricsSource, brokerMetricsText } from "../metrics/broker-metrics.ts";
import { CONTENT_TYPE } from "../metrics/exposition.ts";
import { EventLoopLag } from "../metrics/process-metrics.ts";
import { type HttpServer, type HttpTls, json, serveHttp, text } from "./http-server.ts";

export interface BrokerHttpSource extends BrokerMetricsSource {
  /** The status --json document as this broker sees the cluster. */
  status(): unknown;
}

export interface BrokerHttpOptions {
  host: string;
  port: number;
  /** Ready while the applied index is at most this many entries behind the commit index. */
  readyLag: number;
  source: BrokerHttpSource;
  /** HTTPS with the broker's own TLS files (docs/security.md). */
  tls?: HttpTls;
}

/** Why this broker should not take traffic yet, or undefined when it is ready. */
export function notReadyReason(raft: { leader: number; commit: number; applied: number }, readyLag: number) {
  if (raft.leader === 0) return "no leader known";
  const behind = raft.commit - raft.applied;
  if (behind > readyLag) return `applied index ${raft.applied} is ${behind} entries behind commit ${raft.commit}`;
  return undefined;
}

/** A broker's /metrics, /healthz, /readyz and /status. */
export function serveBrokerHttp({ host, port, readyLag, source, tls }: BrokerHttpOptions): HttpServer {
  const lag = new EventLoopLag().start();
  return serveHttp({
    host,
    port,
    onStop: () => lag.stop(),
    ...(tls === undefined ? {} : { tls }),
    routes: {
      "/metrics": () => text(200, brokerMetricsText(source, lag), CONTENT_TYPE),
      "/healthz": () => text(200, "ok\n"),
      "/readyz": () => {
        const raft = source.raft();
        const reason = notReadyReason(raft, readyLag);
        const body = { ready: reason === undefined, leader: raft.leader, commit: raft.commit, applied: raft.applied };
        return reason === undefined ? json(200, body) : json(503, { ...body, reason });
      },
      "/status": () => json(200, source.status()),
    },
  });
}
