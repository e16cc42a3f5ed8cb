/**
 * What a broker process shows the outside besides its protocol port: the HTTP port (--http-port: /metrics,
 * /healthz, /readyz, /status) and its reports to managers (--manager). Both read the broker assembly when asked.
 */
import type { ClusterAuth } from "../auth/peer-handshake.ts";
import { serveBrokerHttp } from "../http/broker-http.ts";
import type { HttpServer } from "../http/http-server.ts";
import type { Logger } from "../util/log.ts";
import type { Listener, ServerTls, sumMemory } from "../wire/index.ts";
import type { BrokerAssembly } from "./broker-assembly.ts";
import type { BrokerConfig } from "./broker-config.ts";
import { brokerHttpSource } from "./broker-http-source.ts";
import { leaderReport, ManagerReporter } from "./manager-reporter.ts";

export class BrokerObservability {
  private http: HttpServer | undefined;
  private reporter: ManagerReporter | undefined;

  constructor(
    private readonly config: BrokerConfig,
    /** The current assembly (a broker reopens its assembly after ENOSPC: disk-full-reopen.ts). */
    private readonly assembly: () => BrokerAssembly,
    /** The client port's listener, once it listens (its connection count is a metric). */
    private readonly listener: () => Listener | undefined,
    private readonly log: Logger,
    private readonly auth: ClusterAuth | undefined,
    /** The connections to the other brokers (their queues are metrics). */
    private readonly peers?: () => { memoryUse(): ReturnType<typeof sumMemory> } | undefined,
  ) {}

  /** `tls`: the broker's own TLS files, which put its HTTP port on HTTPS too. */
  start(tls?: ServerTls): void {
    const { config, assembly } = this;
    if (config.httpPort !== 0) {
      const source = brokerHttpSource({
        id: config.id,
        raft: () => assembly().driver.raft,
        broker: () => assembly().broker,
        watcher: () => assembly().watcher,
        listener: this.listener,
        get store() {
          return assembly().store;
        },
        get diskAlarm() {
          return assembly().diskAlarm;
        },
        get snapshotReceiver() {
          return assembly().snapshotReceiver;
        },
        ...(this.peers === undefined ? {} : { peers: this.peers }),
      });
      this.http = serveBrokerHttp({
        host: config.host,
        port: config.httpPort,
        readyLag: config.readyLag,
        source,
        ...(tls === undefined ? {} : { tls }),
      });
      this.log.info(`HTTP on ${this.http.url} (/metrics, /healthz, /readyz, /status)`);
    }
    if (config.managers.length > 0) {
      this.reporter = new ManagerReporter(
        config.managers,
        config.id,
        () => leaderReport(assembly().driver.raft.status()),
        this.log,
      );
      this.reporter.clusterAuth = this.auth;
      this.reporter.start();
    }
  }

  /** What a status reply adds for dashboards (cluster-collector.ts): where this broker's /metrics is. */
  statusFields(): { httpPort?: number } {
    return this.http === undefined ? {} : { httpPort: this.http.port };
  }

  /** SIGHUP: renewed TLS files for the HTTP port's new connections. */
  reloadTls(tls: ServerTls): void {
    this.http?.reloadTls(tls);
  }

  stop(): void {
    this.http?.stop();
    this.reporter?.stop();
  }
}
