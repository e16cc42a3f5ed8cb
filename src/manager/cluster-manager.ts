import * as v from "valibot";
import { loadClusterAuth } from "../auth/cluster-auth.ts";
import { loadTls, tlsWithoutCaWarning } from "../auth/tls-files.ts";
import { dashboardRoutes } from "../http/dashboard-routes.ts";
import type { HttpServer } from "../http/http-server.ts";
import { serveManagerHttp } from "../http/manager-http.ts";
import { describeError, MqraftError } from "../util/errors.ts";
import { createLogger, type Logger } from "../util/log.ts";
import {
  type Connection,
  createMessageParser,
  type Listener,
  listen,
  type ManagerInbound,
  ManagerInboundSchema,
  PROTOCOL_VERSION,
  type ServerTls,
  setDialTls,
  type Welcome,
} from "../wire/index.ts";
import { ClusterCollector } from "./cluster-collector.ts";
import { ClusterMap } from "./cluster-map.ts";
import { DashboardLoop } from "./dashboard-loop.ts";
import { Forwarder } from "./forwarder.ts";
import { type ManagerConfig, type ManagerConfigInput, ManagerConfigSchema } from "./manager-config.ts";
import { type ManagerHost, type ManagerSends, ManagerSession } from "./manager-session.ts";

/** How often a silent leader is looked for and idle connections to brokers are closed. */
const SWEEP_MS = 250;
const CONNECT_TIMEOUT_MS = 1_000;

/**
 * The manager process: a stateless front door. Brokers report the cluster to it; it tells clients where the
 * brokers are and forwards their one-shot requests to the leader. Nothing it holds outlives it: a restarted manager
 * knows the cluster again from the next reports.
 */
export class ClusterManager {
  readonly log: Logger;
  readonly config: ManagerConfig;
  /** Settles once the manager has stopped. */
  readonly stopped: Promise<void>;
  private readonly map: ClusterMap;
  private readonly forwarder: Forwarder;
  private readonly listener: Listener;
  private readonly open = new Set<Connection<ManagerInbound, ManagerSends>>();
  private readonly sweeper: ReturnType<typeof setInterval>;
  private settleStopped!: () => void;
  private stopping = false;
  /** Observability port (httpPort), off when undefined. */
  private http: HttpServer | undefined;

  private constructor(config: ManagerConfig) {
    this.config = config;
    this.stopped = new Promise((resolve) => (this.settleStopped = resolve));
    let port = config.port;
    this.log = createLogger(() => `ClusterManager ${port}`);
    const auth = loadClusterAuth(config.clusterSecretFile, config.host, this.log, config.previousClusterSecretFile);
    const tls = loadTls(config.tls);
    // the links to brokers (forwarding, probes) dial with it
    setDialTls(tls.client);
    const warning = tlsWithoutCaWarning(config.tls);
    if (warning !== undefined) this.log.warn(warning);
    this.map = new ClusterMap(config.leaderStaleMs);
    this.forwarder = new Forwarder(this.map, this.log, {
      requestTimeoutMs: config.requestTimeoutMs,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      maxFrameBytes: config.maxFrameBytes,
      maxTokenLinks: config.maxTokenLinks,
      maxLinksPerToken: config.maxLinksPerToken,
      ...(auth === undefined ? {} : { auth }),
    });
    const host: ManagerHost = {
      log: this.log,
      helloTimeoutMs: config.helloTimeoutMs,
      maxInFlightPerClient: config.maxInFlightPerClient,
      welcome: () => this.welcome(),
      report: (report) => {
        const leader = this.map.apply(report, performance.now());
        if (leader === undefined) return;
        this.log.info(`New leader ${leader}`);
        this.forwarder.leaderChanged();
      },
      forward: (request, reply, done, userToken) => this.forwarder.forward(request, reply, done, userToken),
      ...(auth === undefined ? {} : { clusterAuth: auth }),
    };
    this.listener = listen<ManagerInbound, ManagerSends>({
      host: config.host,
      port: config.port,
      maxFrameBytes: config.maxFrameBytes,
      parse: createMessageParser(ManagerInboundSchema),
      onConnection: (connection) => this.accept(connection, host),
      ...(tls.server === undefined ? {} : { tls: tls.server }),
      onHandshakeFailed: (e) => this.log.debug(`A TLS handshake failed: ${e.message}`),
    });
    port = this.listener.port;
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.log.info(`Running on ${this.address}`);
    if (config.httpPort !== 0) {
      try {
        this.serveHttp(tls.server);
      } catch (e) {
        // nothing of a manager that failed to start may stay behind (tests start managers in-process)
        clearInterval(this.sweeper);
        this.listener.stop();
        throw e;
      }
    }
  }

  /** SIGHUP: reads the TLS files again for new connections; a file that cannot be read leaves TLS as it was. */
  reloadTls(): void {
    try {
      const tls = loadTls(this.config.tls);
      setDialTls(tls.client);
      if (tls.server !== undefined) this.listener.reloadTls(tls.server);
      if (tls.server !== undefined) this.http?.reloadTls(tls.server);
      this.log.info("Reloaded the TLS certificate files");
    } catch (e) {
      this.log.error(`Could not reload the TLS files, keeping the ones in force: ${describeError(e)}`);
    }
  }

  /** Starts listening; throws BAD_CONFIG for an invalid configuration, UNAVAILABLE if the address cannot be bound. */
  static start(input: ManagerConfigInput): ClusterManager {
    const parsed = v.safeParse(ManagerConfigSchema, input);
    if (!parsed.success) {
      const issue = parsed.issues[0];
      throw new MqraftError("BAD_CONFIG", `manager ${v.getDotPath(issue) ?? "configuration"}: ${issue.message}`);
    }
    return new ClusterManager(parsed.output);
  }

  /** Connections accepted and not closed yet (brokers' and clients'). */
  get openConnections(): number {
    return this.open.size;
  }

  /** Requests forwarded and not answered yet. */
  get inFlight(): number {
    return this.forwarder.inFlight;
  }

  get port(): number {
    return this.listener.port;
  }

  /** The HTTP port actually bound (0 when off). */
  get httpPort(): number {
    return this.http?.port ?? 0;
  }

  /** The cluster as the leader's reports describe it. */
  cluster() {
    return { leader: this.map.leaderAt(performance.now()), members: this.map.knownMembers };
  }

  /** The HTTP port with the live dashboard at / (fed by asking the reported brokers once a second). */
  private serveHttp(tls: ServerTls | undefined): void {
    const collector = new ClusterCollector({ seeds: () => this.map.knownMembers.map((m) => m.address) });
    const dashboard = new DashboardLoop(collector).start();
    this.http = serveManagerHttp({
      host: this.config.host,
      port: this.config.httpPort,
      source: {
        cluster: () => this.cluster(),
        connections: () => this.openConnections,
        inFlight: () => this.inFlight,
      },
      extra: dashboardRoutes(dashboard),
      onStop: () => dashboard.stop(),
      ...(tls === undefined ? {} : { tls }),
    });
    this.log.info(`HTTP on ${this.http.url} (/metrics, /healthz, /readyz, /status)`);
  }

  get address(): string {
    const host = this.config.host.includes(":") ? `[${this.config.host}]` : this.config.host;
    return `${host}:${this.port}`;
  }

  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.sweeper);
    this.forwarder.stop();
    this.listener.stop();
    this.http?.stop();
    this.settleStopped();
  }

  private accept(connection: Connection<ManagerInbound, ManagerSends>, host: ManagerHost): void {
    if (this.open.size >= this.config.maxConnections) {
      this.log.debug(`Refused a connection from ${connection.remoteAddress}: ${this.open.size} open`);
      connection.close(
        new MqraftError(
          "REFUSED",
          `the manager has ${this.config.maxConnections} connections open; try again later or another manager`,
        ),
      );
      return;
    }
    this.open.add(connection);
    void connection.closed.then(() => this.open.delete(connection));
    new ManagerSession(host, connection);
  }

  private welcome(): Welcome {
    const members = this.map.knownMembers.map(({ id, address, voter }) => ({ id, address, voter }));
    const welcome: Welcome = {
      type: "welcome",
      version: PROTOCOL_VERSION,
      maxFrameBytes: this.config.maxFrameBytes,
      members,
    };
    const leader = this.map.leaderAt(performance.now());
    if (leader !== undefined) welcome.leader = leader.id;
    return welcome;
  }

  private sweep(): void {
    const silent = this.map.expire(performance.now());
    if (silent !== undefined)
      this.log.warn(`Leader ${silent} stopped reporting; requests go to the brokers it listed until a leader reports`);
    this.forwarder.sweep();
  }
}
