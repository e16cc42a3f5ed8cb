import {
  type Connection,
  createMessageParser,
  type Listener,
  listen,
  type NodeStatus,
  PROTOCOL_VERSION,
  type ServerInbound,
  ServerInboundSchema,
} from "../../src/wire/index.ts";
import { FakeSession, type Outgoing } from "./fake-session.ts";

const parse = createMessageParser(ServerInboundSchema);

export interface FakeNode {
  readonly id: number;
  readonly address: string;
  listener: Listener | undefined;
  readonly sessions: Set<FakeSession>;
  /** Publishes after this many answered ones are stored but not answered: a leader that dies before replying. */
  answerLimit: number;
  answered: number;
  /** Whom this node names as leader, when it is wrong about it; else the cluster's leader. */
  believes: number | undefined;
}

export interface Durable {
  topics: string[];
  positions: Map<string, number>;
}

/**
 * An in-process stand-in for a broker cluster that speaks the client protocol faithfully: one shared committed log
 * (so every node serves subscriptions from the same offsets), a dedup window by (producer, seq), durable
 * subscriptions, a leader that can be moved or removed, and nodes that can drop their connections or go down.
 */
export class FakeCluster {
  readonly log = new Map<string, Uint8Array[]>();
  readonly dedup = new Map<string, { topic: string; offset: number }>();
  readonly durables = new Map<string, Durable>();
  readonly nodes: FakeNode[] = [];
  leader = 1;
  term = 1;
  /** Publishes stored again under a (producer, seq) already seen: a retry the dedup window caught. */
  duplicates = 0;
  /** Most publishes a single connection had stored or refused but not yet seen answered. */
  maxOutstanding = 0;
  /** When set, each publish answer waits this long, as a commit would. */
  commitDelayMs = 0;
  /** Announced in the welcome when set. */
  maxFrameBytes: number | undefined;
  /** Requests received, by type, over all nodes. */
  readonly received = new Map<string, number>();
  private epochs = 0;

  private constructor(private readonly host: string) {}

  static async start(count: number): Promise<FakeCluster> {
    const cluster = new FakeCluster("127.0.0.1");
    for (let id = 1; id <= count; id++) {
      const listener = cluster.listenAs(id, 0);
      cluster.nodes.push({
        id,
        address: `${cluster.host}:${listener.port}`,
        listener,
        sessions: new Set(),
        answerLimit: Number.POSITIVE_INFINITY,
        answered: 0,
        believes: undefined,
      });
    }
    return cluster;
  }

  get addresses(): string[] {
    return this.nodes.map((n) => n.address);
  }

  node(id: number): FakeNode {
    const node = this.nodes.find((n) => n.id === id);
    if (node === undefined) throw new Error(`no fake node ${id}`);
    return node;
  }

  /** The leader `asker` names: the cluster's, unless it believes otherwise. */
  leaderOf(asker: number): number {
    return this.node(asker).believes ?? this.leader;
  }

  members(): { id: number; address: string; voter: boolean }[] {
    return this.nodes.map((n) => ({ id: n.id, address: n.address, voter: true }));
  }

  nodeStatus(): NodeStatus[] {
    const commit = [...this.log.values()].reduce((n, messages) => n + messages.length, 0);
    return this.nodes.map((n) => ({
      id: n.id,
      address: n.address,
      role: n.id === this.leader ? "leader" : "follower",
      voter: true,
      reachable: n.listener !== undefined,
      term: this.term,
      commitIndex: commit,
      lastApplied: n.listener === undefined ? 0 : commit,
    }));
  }

  /** Moves leadership (0: an election is running), as a real cluster does after a leader change. */
  setLeader(id: number): void {
    this.leader = id;
    this.term++;
  }

  /** Closes every connection of the node; it keeps listening. */
  dropConnections(id: number): void {
    for (const session of this.node(id).sessions) session.drop();
  }

  /** The node stops listening and drops its connections: connecting to it is refused. */
  kill(id: number): void {
    const node = this.node(id);
    node.listener?.stop();
    node.listener = undefined;
    this.dropConnections(id);
  }

  /** Stores one message unless its (producer, seq) is known; fans it out to every live subscription. */
  /** A new epoch for a producer, as the leader hands out with `register`. */
  register(): number {
    return ++this.epochs;
  }

  store(
    topic: string,
    data: Uint8Array,
    producer?: string,
    seq?: number,
    epoch?: number,
  ): { topic: string; offset: number; duplicate: boolean } {
    const key = producer === undefined || seq === undefined ? undefined : `${producer}/${epoch ?? 0}/${seq}`;
    const known = key === undefined ? undefined : this.dedup.get(key);
    if (known !== undefined) {
      this.duplicates++;
      return { ...known, duplicate: true };
    }
    const messages = this.log.get(topic) ?? [];
    this.log.set(topic, messages);
    const offset = messages.length;
    messages.push(data);
    if (key !== undefined) this.dedup.set(key, { topic, offset });
    for (const node of this.nodes) for (const session of node.sessions) session.stored();
    return { topic, offset, duplicate: false };
  }

  nextOffset(topic: string): number {
    return this.log.get(topic)?.length ?? 0;
  }

  count(type: string): number {
    return this.received.get(type) ?? 0;
  }

  stop(): void {
    for (const node of this.nodes) {
      node.listener?.stop();
      node.listener = undefined;
      for (const session of node.sessions) session.drop();
    }
  }

  private listenAs(id: number, port: number): Listener {
    return listen<ServerInbound, Outgoing>({
      host: this.host,
      port,
      parse,
      onConnection: (connection: Connection<ServerInbound, Outgoing>) => {
        const node = this.nodes.find((n) => n.id === id);
        const session = new FakeSession(this, id, connection);
        node?.sessions.add(session);
        connection.onClose = () => node?.sessions.delete(session);
      },
    });
  }
}

/** A manager as clients see it: answers hello with the members and no node id, and serves nothing else. */
export function fakeManager(cluster: FakeCluster): Listener {
  return listen<ServerInbound, Outgoing>({
    host: "127.0.0.1",
    port: 0,
    parse,
    onConnection: (connection) => {
      connection.onMessage = (message) => {
        if (message.type === "hello")
          connection.send({ type: "welcome", version: PROTOCOL_VERSION, members: cluster.members() });
        else connection.close();
      };
    },
  });
}
