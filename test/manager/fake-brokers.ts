import {
  type Connection,
  createMessageParser,
  type Listener,
  listen,
  PROTOCOL_VERSION,
  type Report,
  type ServerInbound,
  ServerInboundSchema,
} from "../../src/wire/index.ts";

const parse = createMessageParser(ServerInboundSchema);

/**
 * How a fake broker treats a request: serve it; serve it but close the connection instead of answering (once: a
 * leader that stored a publish and lost the connection before replying); hold the answer until `release`; never answer.
 */
export type Behaviour = "serve" | "dropOnce" | "hold" | "silent";

export interface FakeBroker {
  readonly id: number;
  address: string;
  listener: Listener | undefined;
  readonly connections: Set<Connection<ServerInbound, unknown>>;
  /** Requests received, in order, by type and with the fields as they arrived. */
  readonly requests: ServerInbound[];
  /** The connection each of `requests` came on, at the same position. */
  readonly requestConnections: Connection<ServerInbound, unknown>[];
  /** The role each connection's hello gave. */
  readonly roles: (string | undefined)[];
  behaviour: Behaviour;
  /** Answers waiting for `release` under "hold". */
  readonly held: (() => void)[];
}

/**
 * In-process stand-ins for the brokers a manager forwards to: the leader stores publishes (deduplicating by
 * producer and seq, like the real dedup window) and answers status, join, leave and transfer; the others answer
 * NOT_LEADER naming the leader's address (or naming none while `hintless`).
 */
export class FakeBrokers {
  readonly nodes: FakeBroker[] = [];
  leader = 1;
  term = 1;
  hintless = false;
  /** Topic → stored payloads (as text). */
  readonly topics = new Map<string, string[]>();
  private readonly seen = new Map<string, { topic: string; offset: number }>();

  static start(count: number): FakeBrokers {
    const brokers = new FakeBrokers();
    for (let id = 1; id <= count; id++) {
      const node: FakeBroker = {
        id,
        address: "",
        listener: undefined,
        connections: new Set(),
        requests: [],
        requestConnections: [],
        roles: [],
        behaviour: "serve",
        held: [],
      };
      brokers.nodes.push(node);
      brokers.listenAs(node, 0);
    }
    return brokers;
  }

  node(id: number): FakeBroker {
    const node = this.nodes.find((n) => n.id === id);
    if (node === undefined) throw new Error(`no fake broker ${id}`);
    return node;
  }

  /** The report the leader would send. */
  report(overrides: Partial<Report> = {}): Report {
    return {
      type: "report",
      nodeId: this.leader,
      term: this.term,
      leader: this.leader,
      members: this.nodes.map((n) => ({
        id: n.id,
        address: n.address,
        voter: true,
        reachable: n.listener !== undefined,
      })),
      ...overrides,
    };
  }

  /** Stops listening and closes every connection: connecting to it is refused. */
  kill(id: number): void {
    const node = this.node(id);
    node.listener?.stop();
    node.listener = undefined;
  }

  /** Sends every held answer and serves from now on. */
  release(id: number): void {
    const node = this.node(id);
    node.behaviour = "serve";
    for (const answer of node.held.splice(0)) answer();
  }

  stop(): void {
    for (const node of this.nodes) this.kill(node.id);
  }

  count(type: string): number {
    return this.nodes.reduce((n, node) => n + node.requests.filter((r) => r.type === type).length, 0);
  }

  private listenAs(node: FakeBroker, port: number): void {
    node.listener = listen<ServerInbound, unknown>({
      host: "127.0.0.1",
      port,
      parse,
      onConnection: (connection) => {
        node.connections.add(connection);
        void connection.closed.then(() => node.connections.delete(connection));
        connection.onMessage = (m) => this.receive(node, connection, m);
      },
    });
    node.address = `127.0.0.1:${node.listener.port}`;
  }

  private receive(node: FakeBroker, connection: Connection<ServerInbound, unknown>, m: ServerInbound): void {
    if (m.type === "hello") {
      node.roles.push(m.role);
      connection.send({
        type: "welcome",
        version: PROTOCOL_VERSION,
        nodeId: node.id,
        maxFrameBytes: 64 * 1024,
        ...(this.leader === 0 ? {} : { leader: this.leader }),
      });
      return;
    }
    node.requests.push(m);
    node.requestConnections.push(connection);
    if (!("id" in m) || m.type === "error") return;
    if (node.behaviour === "silent") return;
    if (node.id !== this.leader) {
      const leader = this.nodes.find((n) => n.id === this.leader)?.address;
      connection.send({
        type: "error",
        id: m.id,
        code: "NOT_LEADER",
        message: `node ${node.id} is not the leader`,
        ...(this.hintless || leader === undefined ? {} : { leader }),
      });
      return;
    }
    const answer = this.serve(m);
    if (node.behaviour === "dropOnce") {
      node.behaviour = "serve";
      connection.close();
    } else if (node.behaviour === "hold") node.held.push(() => connection.send(answer));
    else connection.send(answer);
  }

  private serve(m: Exclude<ServerInbound, { type: "hello" }>): unknown {
    switch (m.type) {
      case "publish": {
        const key = m.producer === undefined || m.seq === undefined ? undefined : `${m.producer}/${m.seq}`;
        const known = key === undefined ? undefined : this.seen.get(key);
        if (known !== undefined) return { type: "published", id: m.id, ...known, duplicate: true };
        const stored = this.topics.get(m.topic) ?? [];
        this.topics.set(m.topic, stored);
        const result = { topic: m.topic, offset: stored.length };
        stored.push(new TextDecoder().decode(m.data));
        if (key !== undefined) this.seen.set(key, result);
        return { type: "published", id: m.id, ...result };
      }
      case "status":
        return {
          type: "status",
          id: m.id,
          leader: this.leader,
          term: this.term,
          nodes: this.nodes.map((n) => ({
            id: n.id,
            address: n.address,
            role: n.id === this.leader ? "leader" : "follower",
            voter: true,
            reachable: true,
            term: this.term,
            commitIndex: 0,
            lastApplied: 0,
          })),
        };
      case "transfer":
        return this.nodes.some((n) => n.id === m.to)
          ? { type: "ok", id: m.id }
          : { type: "error", id: m.id, code: "NOT_FOUND", message: `node ${m.to} is not a member` };
      default:
        return "id" in m ? { type: "ok", id: m.id } : undefined;
    }
  }
}
