import { CONTENT_TYPE, Exposition, type Labels } from "../metrics/exposition.ts";
import { EventLoopLag } from "../metrics/process-metrics.ts";
import { type HttpServer, type HttpTls, json, type Route, serveHttp, text } from "./http-server.ts";

/** What a manager knows, read at request time. */
export interface ManagerHttpSource {
  /** The leader that keeps reporting, and the members of its last report. */
  cluster(): {
    leader: { id: number; address: string; term: number } | undefined;
    members: readonly { id: number; address: string; voter: boolean; reachable: boolean }[];
  };
  connections(): number;
  inFlight(): number;
}

export interface ManagerHttpOptions {
  host: string;
  port: number;
  source: ManagerHttpSource;
  /** More routes (the dashboard). */
  extra?: Readonly<Record<string, Route>>;
  onStop?: () => void;
  /** HTTPS with the manager's own TLS files (docs/security.md). */
  tls?: HttpTls;
}

export function managerMetricsText(s: ManagerHttpSource, lag: EventLoopLag): string {
  const { leader, members } = s.cluster();
  const out = new Exposition()
    .gauge("mqraft_manager_leader", "Node id of the leader that reports to this manager, 0 when none.", leader?.id ?? 0)
    .gauge("mqraft_manager_term", "Term of the last leader report.", leader?.term ?? 0)
    .family(
      "mqraft_manager_member_reachable",
      "gauge",
      "1 when the leader's last report says it reaches the member.",
      members.map((m): [Labels, number] => [{ id: String(m.id), voter: String(m.voter) }, m.reachable ? 1 : 0]),
    )
    .gauge("mqraft_manager_connections", "Open connections on the manager port.", s.connections())
    .gauge(
      "mqraft_manager_forwarded_in_flight",
      "Requests forwarded to the leader and not answered yet.",
      s.inFlight(),
    );
  lag.write(out);
  return out.text();
}

/** A manager's /metrics, /healthz, /readyz (a leader reports) and /status (the cluster as reported). */
export function serveManagerHttp({ host, port, source, extra, onStop, tls }: ManagerHttpOptions): HttpServer {
  const lag = new EventLoopLag().start();
  return serveHttp({
    host,
    port,
    ...(tls === undefined ? {} : { tls }),
    onStop: () => {
      lag.stop();
      onStop?.();
    },
    routes: {
      ...extra,
      "/metrics": () => text(200, managerMetricsText(source, lag), CONTENT_TYPE),
      "/healthz": () => text(200, "ok\n"),
      "/readyz": () => {
        const { leader } = source.cluster();
        return leader === undefined
          ? json(503, { ready: false, reason: "no leader has reported" })
          : json(200, { ready: true, leader: leader.id });
      },
      "/status": () => {
        const { leader, members } = source.cluster();
        return json(200, { leader: leader?.id ?? 0, term: leader?.term ?? 0, members });
      },
    },
  });
}
