import { openNodeLink } from "../auth/dial-handshake.ts";
import type { ClusterAuth } from "../auth/peer-handshake.ts";
import { nodeIdentity } from "../auth/peer-proof.ts";
import type { Message, NodeId } from "../raft/index.ts";
import { splitAddress } from "../util/config-values.ts";
import { describeError } from "../util/errors.ts";
import type { Logger } from "../util/log.ts";
import { ClientInboundSchema, type Connection, connect, createMessageParser } from "../wire/index.ts";
import type { FoundingPeers } from "./founding-peers.ts";
import { type DialedInbound, isRaftMessage, peerHello, toRaftMessage } from "./peer-messages.ts";

/** What flows to a peer: Raft messages, or the hello that opens a dialed connection. */
type PeerConnection = Pick<Connection<never, unknown>, "send" | "close" | "closed" | "isOpen" | "queuedBytes">;

const BACKOFF_MIN_MS = 50;
const BACKOFF_MAX_MS = 1000;
const CONNECT_TIMEOUT_MS = 1000;
/** Past this many unsent bytes to a peer, new messages to it are dropped: Raft resends what matters. */
const DROP_ABOVE_BYTES = 32 << 20;
/**
 * How long the link to a node that left the configuration stays open: the leader's farewell (the
 * commit of the removal) goes out in the same turn the removal is applied, and must still reach it.
 */
const DEPARTED_LINGER_MS = 3000;
const parseDialed = createMessageParser(ClientInboundSchema);

interface Link {
  id: NodeId;
  address: string;
  connection: PeerConnection | undefined;
  /** Who dialed the current connection: when both sides dial at once, the lower id's connection is kept. */
  dialedBy: NodeId;
  dialing: boolean;
  backoffMs: number;
  retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** The last refusal this peer answered a dial with, until it accepts one. */
  refusal?: string;
  /** Set while a node that left the configuration keeps its link for a last word; never redialed. */
  departing?: ReturnType<typeof setTimeout>;
}

/**
 * Connections to the other brokers, one per pair in steady state. A node dials each peer it has no
 * connection to (with backoff); if both dial at once, both keep the connection the lower id dialed.
 * Messages to a peer without a connection are dropped: Raft's retries and heartbeats cover loss.
 */
export class PeerNetwork {
  private readonly links = new Map<NodeId, Link>();
  private stopped = false;

  constructor(
    private readonly selfId: NodeId,
    private readonly onRaftMessage: (m: Message) => void,
    private readonly log: Logger,
    private readonly maxFrameBytes: number,
    private readonly founding: FoundingPeers,
    /** With a cluster secret, every link opens with the challenge (auth/peer-handshake.ts). */
    private readonly auth?: ClusterAuth,
  ) {}

  /** The members and their addresses, as the applied configuration says; links to others are closed. */
  setPeers(addresses: ReadonlyMap<NodeId, string>): void {
    for (const [id, link] of this.links) {
      if (!addresses.has(id) && link.departing === undefined) {
        link.departing = setTimeout(() => {
          if (this.links.get(id) !== link) return;
          this.drop(link);
          this.links.delete(id);
        }, DEPARTED_LINGER_MS);
      }
    }
    for (const [id, address] of addresses) {
      if (id === this.selfId) continue;
      const link = this.links.get(id);
      if (link?.departing !== undefined) {
        // Back before its link was closed (a rejoin): redial what closed meanwhile.
        clearTimeout(link.departing);
        link.departing = undefined;
        this.dial(link);
      }
      if (link === undefined) {
        const fresh: Link = {
          id,
          address,
          connection: undefined,
          dialedBy: 0,
          dialing: false,
          backoffMs: BACKOFF_MIN_MS,
          retryTimer: undefined,
        };
        this.links.set(id, fresh);
        this.dial(fresh);
      } else if (link.address !== address) {
        link.address = address;
        this.drop(link);
        this.dial(link);
      }
    }
  }

  send(messages: Message[]): void {
    for (const m of messages) {
      const link = this.links.get(m.to);
      const connection = link?.connection;
      if (connection === undefined || connection.queuedBytes > DROP_ABOVE_BYTES) continue;
      connection.send(m);
    }
  }

  isConnected(id: NodeId): boolean {
    return this.links.get(id)?.connection?.isOpen ?? false;
  }

  /** An accepted connection whose hello said it is broker `id`. */
  adopt(id: NodeId, connection: PeerConnection): void {
    const link = this.links.get(id);
    if (link === undefined || this.stopped) {
      // Not a member we know (yet): a joining node learns its peers from the log, so accept it anyway.
      this.links.set(id, {
        id,
        address: "",
        connection: undefined,
        dialedBy: 0,
        dialing: false,
        backoffMs: BACKOFF_MIN_MS,
        retryTimer: undefined,
      });
      return this.adopt(id, connection);
    }
    if (link.connection?.isOpen && link.dialedBy < id) {
      connection.close();
      return;
    }
    if (link.connection !== undefined && link.connection !== connection) link.connection.close();
    this.use(link, connection, id);
  }

  /** Delivers a message that arrived on an accepted peer connection. */
  receive(message: { type: string }): void {
    if (isRaftMessage(message)) this.onRaftMessage(toRaftMessage(message));
  }

  stop(): void {
    this.stopped = true;
    for (const link of this.links.values()) this.drop(link);
    this.links.clear();
  }

  private use(link: Link, connection: PeerConnection, dialedBy: NodeId): void {
    link.connection = connection;
    link.dialedBy = dialedBy;
    link.backoffMs = BACKOFF_MIN_MS;
    void connection.closed.then((reason) => {
      if (link.connection !== connection) return;
      link.connection = undefined;
      if (reason !== null) this.log.debug(`Lost connection to node ${link.id}: ${describeError(reason)}`);
      this.retryLater(link);
    });
  }

  private dial(link: Link): void {
    if (this.stopped || link.dialing || link.connection?.isOpen || link.address === "") return;
    link.dialing = true;
    const { host, port } = splitAddress(link.address);
    const attempt = connect<DialedInbound, unknown>({
      host,
      port,
      parse: parseDialed,
      maxFrameBytes: this.maxFrameBytes,
      maxQueuedBytes: 4 * DROP_ABOVE_BYTES,
    });
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error("connect timed out")), CONNECT_TIMEOUT_MS),
    );
    Promise.race([attempt, timeout]).then(
      (connection) => {
        // an adopted connection may have come while this one was connecting or proving the secret
        const unwanted = (): boolean =>
          this.stopped ||
          !this.links.has(link.id) ||
          (link.connection !== undefined && link.connection.isOpen && link.dialedBy < this.selfId);
        if (unwanted()) {
          link.dialing = false;
          connection.close();
          return;
        }
        const refused = (message: string): void => {
          // Said once, and retried slowly: a refusal (another cluster, other founding --peers, no secret) lasts.
          if (link.refusal !== message)
            this.log.warn(`Node ${link.id} at ${link.address} refused this broker: ${message}`);
          link.refusal = message;
          link.backoffMs = BACKOFF_MAX_MS;
          connection.close();
        };
        openNodeLink(connection, peerHello(this.selfId, this.founding), {
          auth: this.auth,
          selfIdentity: nodeIdentity(this.selfId),
          expectedIdentity: nodeIdentity(link.id),
          timeoutMs: CONNECT_TIMEOUT_MS,
          ready: () => {
            link.dialing = false;
            if (unwanted()) return connection.close();
            connection.onMessage = (m) => {
              if (m.type === "error") return refused(m.message);
              link.refusal = undefined;
              this.receive(m);
            };
            if (link.connection !== undefined) link.connection.close();
            this.use(link, connection, this.selfId);
          },
          refused: (error) => {
            link.dialing = false;
            if (error.code !== "CONNECTION_CLOSED") refused(error.message);
            this.retryLater(link);
          },
        });
      },
      () => {
        link.dialing = false;
        void attempt.then(
          (c) => c.close(),
          () => {},
        );
        this.retryLater(link);
      },
    );
  }

  private retryLater(link: Link): void {
    if (this.stopped || link.retryTimer !== undefined || link.departing !== undefined || !this.links.has(link.id))
      return;
    const delay = link.backoffMs;
    link.backoffMs = Math.min(BACKOFF_MAX_MS, link.backoffMs * 2);
    link.retryTimer = setTimeout(() => {
      link.retryTimer = undefined;
      this.dial(link);
    }, delay);
  }

  private drop(link: Link): void {
    if (link.departing !== undefined) clearTimeout(link.departing);
    link.departing = undefined;
    if (link.retryTimer !== undefined) clearTimeout(link.retryTimer);
    link.retryTimer = undefined;
    link.connection?.close();
    link.connection = undefined;
  }
}
