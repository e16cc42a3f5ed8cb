import type { ClusterAuth } from "../auth/peer-handshake.ts";
import type { Message, NodeId } from "../raft/index.ts";
import { describeError } from "../util/errors.ts";
import type { Logger } from "../util/log.ts";
import { type Connection, sumMemory } from "../wire/index.ts";
import type { FoundingPeers } from "./founding-peers.ts";
import { type DialedConnection, dialPeer } from "./peer-dial.ts";
import { isRaftMessage, peerHello, toRaftMessage } from "./peer-messages.ts";

/** What flows to a peer: Raft messages, or the hello that opens a dialed connection. */
type PeerConnection = Pick<
  Connection<never, unknown>,
  "send" | "close" | "closed" | "isOpen" | "queuedBytes" | "memoryUse"
>;

const BACKOFF_MIN_MS = 50;
const BACKOFF_MAX_MS = 1000;
/** Past this many unsent bytes to a peer, new messages to it are dropped: Raft resends what matters. */
const DROP_ABOVE_BYTES = 32 << 20;
/**
 * How long the link to a node that left the configuration stays open: the leader's farewell (the
 * commit of the removal) goes out in the same turn the removal is applied, and must still reach it.
 */
const DEPARTED_LINGER_MS = 3000;

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
  /** The bulk lane: a connection this node dialed and sends only its appends and snapshot chunks on. */
  bulk: Lane;
  /** The peer's bulk lane to this node (accepted; only read from). */
  inboundBulk?: PeerConnection;
}

/** A connection this node dials and keeps up by itself. */
interface Lane {
  connection: PeerConnection | undefined;
  dialing: boolean;
  backoffMs: number;
  retryTimer: ReturnType<typeof setTimeout> | undefined;
}

const newLane = (): Lane => ({
  connection: undefined,
  dialing: false,
  backoffMs: BACKOFF_MIN_MS,
  retryTimer: undefined,
});

/**
 * Appends and snapshot chunks go on the bulk lane, in the order sent (an append overtaking an earlier one is rejected
 * and costs a resend); everything else (heartbeats, votes, answers) on the pair link, so that a follower keeps hearing
 * its leader while an append of a large entry is still crossing a slow link, as etcd keeps its heartbeats on a
 * stream apart from its appends.
 */
const isBulk = (m: Message): boolean => m.type === "append" || m.type === "snapshot";

/**
 * Connections to the other brokers: one link per pair in steady state, and one bulk lane each way. A node dials each
 * peer it has no link to (with backoff); if both dial at once, both keep the connection the lower id dialed. Each node
 * also dials its own bulk lane to each peer. Messages to a peer without a connection are dropped: Raft's retries and
 * heartbeats cover loss.
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
          bulk: newLane(),
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
      if (link === undefined) continue;
      // Until the bulk lane is up (a fresh start, a reconnect), appends take the pair link.
      const bulk = link.bulk.connection;
      const connection = isBulk(m) && bulk?.isOpen ? bulk : link.connection;
      if (connection === undefined || connection.queuedBytes > DROP_ABOVE_BYTES) continue;
      connection.send(m);
    }
  }

  isConnected(id: NodeId): boolean {
    return this.links.get(id)?.connection?.isOpen ?? false;
  }

  /** What the connections to the other brokers hold in memory, summed (docs/memory.md): for /metrics. */
  memoryUse(): ReturnType<typeof sumMemory> {
    const open: PeerConnection[] = [];
    for (const link of this.links.values())
      for (const c of [link.connection, link.bulk.connection, link.inboundBulk]) if (c?.isOpen) open.push(c);
    return sumMemory(open);
  }

  /** An accepted connection whose hello said it is broker `id` (its bulk lane when `lane` says so). */
  adopt(id: NodeId, connection: PeerConnection, lane?: "bulk"): void {
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
        bulk: newLane(),
      });
      return this.adopt(id, connection, lane);
    }
    if (lane === "bulk") {
      // Only read from: what arrives on it reaches receive() like any peer message.
      if (link.inboundBulk !== undefined && link.inboundBulk !== connection) link.inboundBulk.close();
      link.inboundBulk = connection;
      return;
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
    this.dialBulk(link);
    if (this.stopped || link.dialing || link.connection?.isOpen || link.address === "") return;
    link.dialing = true;
    // an adopted connection may have come while this one was connecting or proving the secret
    const unwanted = (): boolean =>
      this.stopped || !this.links.has(link.id) || (link.connection?.isOpen === true && link.dialedBy < this.selfId);
    dialPeer({
      ...this.dialOptions(link, peerHello(this.selfId, this.founding)),
      unwanted,
      opened: (connection) => {
        link.dialing = false;
        connection.onMessage = (m) => {
          if (m.type === "error") return this.refused(link, connection, m.message);
          link.refusal = undefined;
          this.receive(m);
        };
        if (link.connection !== undefined) link.connection.close();
        this.use(link, connection, this.selfId);
      },
      refused: (connection, message) => {
        link.dialing = false;
        this.refused(link, connection, message);
        this.retryLater(link);
      },
      failed: () => {
        link.dialing = false;
        this.retryLater(link);
      },
    });
  }

  /** This node's bulk lane to `link`'s peer: dialed, and redialed with backoff while the peer is a member. */
  private dialBulk(link: Link): void {
    const lane = link.bulk;
    if (this.stopped || lane.dialing || lane.connection?.isOpen || link.address === "" || link.departing) return;
    lane.dialing = true;
    const again = (): void => {
      lane.dialing = false;
      if (this.stopped || lane.retryTimer !== undefined || !this.links.has(link.id)) return;
      const delay = lane.backoffMs;
      lane.backoffMs = Math.min(BACKOFF_MAX_MS, lane.backoffMs * 2);
      lane.retryTimer = setTimeout(() => {
        lane.retryTimer = undefined;
        if (this.links.get(link.id) === link) this.dialBulk(link);
      }, delay);
    };
    dialPeer({
      ...this.dialOptions(link, { ...peerHello(this.selfId, this.founding), lane: "bulk" }),
      unwanted: () => this.stopped || this.links.get(link.id) !== link || link.departing !== undefined,
      opened: (connection) => {
        lane.dialing = false;
        lane.connection = connection;
        lane.backoffMs = BACKOFF_MIN_MS;
        // The pair link says why a peer refuses this broker; nothing but errors comes back on this lane.
        connection.onMessage = () => {};
        void connection.closed.then(() => {
          if (lane.connection !== connection) return;
          lane.connection = undefined;
          again();
        });
      },
      refused: (connection) => {
        connection.close();
        lane.backoffMs = BACKOFF_MAX_MS;
        again();
      },
      failed: again,
    });
  }

  private dialOptions(link: Link, hello: ReturnType<typeof peerHello>) {
    return {
      selfId: this.selfId,
      peerId: link.id,
      address: link.address,
      hello,
      maxFrameBytes: this.maxFrameBytes,
      maxQueuedBytes: 4 * DROP_ABOVE_BYTES,
      auth: this.auth,
    };
  }

  /** Said once, and retried slowly: a refusal (another cluster, other founding --peers, no secret) lasts. */
  private refused(link: Link, connection: DialedConnection, message: string): void {
    if (link.refusal !== message) this.log.warn(`Node ${link.id} at ${link.address} refused this broker: ${message}`);
    link.refusal = message;
    link.backoffMs = BACKOFF_MAX_MS;
    connection.close();
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
    const lane = link.bulk;
    if (lane.retryTimer !== undefined) clearTimeout(lane.retryTimer);
    lane.retryTimer = undefined;
    lane.connection?.close();
    lane.connection = undefined;
    link.inboundBulk?.close();
    link.inboundBulk = undefined;
  }
}
