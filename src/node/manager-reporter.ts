import { openNodeLink } from "../auth/dial-handshake.ts";
import type { ClusterAuth } from "../auth/peer-handshake.ts";
import { MANAGER_IDENTITY, nodeIdentity } from "../auth/peer-proof.ts";
import type { RaftStatus } from "../raft/index.ts";
import { splitAddress } from "../util/config-values.ts";
import { describeError, type MqraftError } from "../util/errors.ts";
import type { Logger } from "../util/log.ts";
import {
  type ClientInbound,
  ClientInboundSchema,
  type Connection,
  connect,
  createMessageParser,
  errorFromMessage,
  type Hello,
  type ManagerReport,
  type Proof,
  type Report,
} from "../wire/index.ts";
import { peerHello } from "./peer-messages.ts";
import { statusView } from "./status-view.ts";

export const REPORT_INTERVAL_MS = 250;
const BACKOFF_MIN_MS = 50;
const BACKOFF_MAX_MS = 1000;
const CONNECT_TIMEOUT_MS = 1000;
/** A manager that has not taken this much stops getting reports until it catches up: each report replaces the last. */
const SKIP_ABOVE_BYTES = 1 << 20;
const parse = createMessageParser(ClientInboundSchema);

interface ManagerLink {
  address: string;
  connection: Connection<ClientInbound, Hello | Proof | Report> | undefined;
  dialing: boolean;
  backoffMs: number;
  retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** The manager refused the last connection: say so once, not at every redial. */
  refused: boolean;
}

/**
 * Keeps one connection to each manager and sends it `report()` every 250 ms, whenever that returns something (a
 * broker returns a report only while it leads, so the leader's heartbeat carries the cluster map, as in the demo).
 * A manager that is down is dialed again with backoff; a restarted one hears the next report within a heartbeat.
 */
export class ManagerReporter {
  private readonly links: ManagerLink[];
  private timer: ReturnType<typeof setInterval> | undefined;
  private stopped = false;
  /** Set before start() when the broker has a cluster secret: the manager link proves it first. */
  clusterAuth: ClusterAuth | undefined;

  constructor(
    managers: readonly string[],
    private readonly nodeId: number,
    private readonly report: () => ManagerReport | undefined,
    private readonly log: Logger,
    private readonly intervalMs = REPORT_INTERVAL_MS,
    /** Schedules a redial after a backoff; tests pass one that also records each delay. */
    private readonly redialAfter: (dial: () => void, ms: number) => ReturnType<typeof setTimeout> = (dial, ms) =>
      setTimeout(dial, ms),
  ) {
    this.links = [...new Set(managers)].map((address) => ({
      address,
      connection: undefined,
      dialing: false,
      backoffMs: BACKOFF_MIN_MS,
      retryTimer: undefined,
      refused: false,
    }));
  }

  start(): void {
    if (this.stopped || this.timer !== undefined || this.links.length === 0) return;
    for (const link of this.links) this.dial(link);
    this.timer = setInterval(() => this.sendAll(), this.intervalMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    for (const link of this.links) {
      if (link.retryTimer !== undefined) clearTimeout(link.retryTimer);
      link.connection?.close();
      link.connection = undefined;
    }
  }

  private sendAll(): void {
    const message = this.message();
    if (message === undefined) return;
    for (const link of this.links) this.sendTo(link, message);
  }

  private message(): Report | undefined {
    const report = this.report();
    return report === undefined ? undefined : { type: "report", nodeId: this.nodeId, ...report };
  }

  private sendTo(link: ManagerLink, message: Report): void {
    const connection = link.connection;
    if (connection === undefined || !connection.isOpen || connection.queuedBytes > SKIP_ABOVE_BYTES) return;
    connection.send(message);
    this.log.trace(`Send heartbeat to manager ${link.address}`);
  }

  private dial(link: ManagerLink): void {
    if (this.stopped || link.dialing || link.connection?.isOpen) return;
    link.dialing = true;
    const { host, port } = splitAddress(link.address);
    const attempt = connect<ClientInbound, Hello | Proof | Report>({ host, port, parse });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`connect timed out after ${CONNECT_TIMEOUT_MS} ms`)),
        CONNECT_TIMEOUT_MS,
      );
    });
    Promise.race([attempt, timeout]).then(
      (connection) => {
        clearTimeout(timer);
        link.dialing = false;
        if (this.stopped) return connection.close();
        this.use(link, connection);
      },
      (e) => {
        clearTimeout(timer);
        link.dialing = false;
        void attempt.then(
          (late) => late.close(),
          () => {},
        );
        this.log.trace(`Manager ${link.address} not reachable: ${describeError(e)}`);
        this.retryLater(link);
      },
    );
  }

  /** Opens the link; it carries reports once `ready` (with a cluster secret, once both sides proved it). */
  private use(link: ManagerLink, connection: Connection<ClientInbound, Hello | Proof | Report>): void {
    const refused = (error: MqraftError): void => {
      if (!link.refused)
        this.log.warn(`Manager ${link.address} refused this broker's reports: ${error.code}: ${error.message}`);
      link.refused = true;
      connection.close();
    };
    connection.onClose = (reason) => {
      if (link.connection !== connection) return;
      link.connection = undefined;
      if (reason !== null) this.log.debug(`Lost connection to manager ${link.address}: ${describeError(reason)}`);
      this.retryLater(link);
    };
    openNodeLink(connection, peerHello(this.nodeId), {
      auth: this.clusterAuth,
      selfIdentity: nodeIdentity(this.nodeId),
      expectedIdentity: MANAGER_IDENTITY,
      timeoutMs: CONNECT_TIMEOUT_MS,
      refused: (error) => {
        if (error.code !== "CONNECTION_CLOSED") refused(error);
        this.retryLater(link);
      },
      ready: () => {
        if (this.stopped) return connection.close();
        link.connection = connection;
        connection.onMessage = (m) => {
          if (m.type === "welcome") {
            // only an accepted connection resets the backoff: a manager at its connection limit is not redialled in a spin
            link.backoffMs = BACKOFF_MIN_MS;
            link.refused = false;
          } else if (m.type === "error") refused(errorFromMessage(m));
        };
        this.log.debug(`Reporting to manager ${link.address}`);
        // a manager that just (re)started learns the cluster now rather than a heartbeat later
        const message = this.message();
        if (message !== undefined) this.sendTo(link, message);
      },
    });
  }

  private retryLater(link: ManagerLink): void {
    if (this.stopped || link.retryTimer !== undefined) return;
    const delay = link.backoffMs;
    link.backoffMs = Math.min(BACKOFF_MAX_MS, link.backoffMs * 2);
    link.retryTimer = this.redialAfter(() => {
      link.retryTimer = undefined;
      this.dial(link);
    }, delay);
  }
}

/**
 * What a broker reports: the cluster as the leader sees it, or nothing when this broker does not lead (only the
 * leader's view is authoritative, and one reporter per cluster is enough).
 */
export function leaderReport(status: RaftStatus): ManagerReport | undefined {
  if (status.role !== "leader") return undefined;
  const { nodes } = statusView(status, status.id);
  return {
    term: status.term,
    leader: status.id,
    members: nodes
      .filter((n) => n.address !== "")
      .map(({ id, address, voter, reachable }) => ({ id, address, voter, reachable: reachable === true })),
  };
}
