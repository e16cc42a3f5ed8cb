import { createConnection, createServer, type Server, type Socket } from "node:net";

/** What a link does to the bytes flowing one way through it. */
export type LinkMode =
  | { kind: "pass" }
  /** The sockets stay open, the bytes are dropped. */
  | { kind: "blackhole" }
  /** Every connection is reset, and new ones are reset as they arrive. */
  | { kind: "reset" }
  | { kind: "delay"; ms: number };

/** "forward" is from the side that dialled the proxy to the target; "backward" the other way. */
export type Direction = "forward" | "backward";

const PASS: LinkMode = { kind: "pass" };

interface Flow {
  from: Socket;
  to: Socket;
  /** Bytes were dropped: the stream lost its framing, so it cannot carry bytes again. */
  dropped: boolean;
  /** When the last delayed chunk is due: later chunks wait for it, so a flow keeps its order. */
  releaseAt: number;
}

interface Pair {
  forward: Flow;
  backward: Flow;
}

/**
 * A TCP proxy on loopback in front of one target, whose two directions can each be switched at run time. It lets a
 * test partition real processes without root: a blackhole keeps the socket and drops the bytes, like a cable cut
 * that TCP has not noticed yet.
 */
export class TcpProxy {
  private readonly modes: Record<Direction, LinkMode> = { forward: PASS, backward: PASS };
  private readonly pairs = new Set<Pair>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  /** Listens on `listenPort` (0 for any free one) and forwards each connection to `target`. */
  static async start(target: { host: string; port: number }, listenPort = 0): Promise<TcpProxy> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(listenPort, "127.0.0.1", () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("the proxy has no TCP address");
    const proxy = new TcpProxy(server, address.port, target);
    server.on("connection", (socket) => proxy.accept(socket));
    return proxy;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get connections(): number {
    return this.pairs.size;
  }

  mode(direction: Direction): LinkMode {
    return this.modes[direction];
  }

  /** Sets one direction's mode, or both when `direction` is omitted. */
  set(mode: LinkMode, direction?: Direction): void {
    for (const d of direction === undefined ? (["forward", "backward"] as const) : [direction]) this.modes[d] = mode;
    for (const pair of [...this.pairs]) {
      // A stream that lost bytes would hand the receiver half a frame: once healed, it must start afresh, as TCP
      // would after its retransmissions gave up.
      const broken = (["forward", "backward"] as const).some((d) => pair[d].dropped && this.modes[d].kind !== "blackhole");
      if (broken || this.resetting()) this.destroy(pair);
    }
  }

  async close(): Promise<void> {
    for (const pair of [...this.pairs]) this.destroy(pair);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private resetting(): boolean {
    return this.modes.forward.kind === "reset" || this.modes.backward.kind === "reset";
  }

  private accept(client: Socket): void {
    if (this.resetting()) {
      client.resetAndDestroy();
      return;
    }
    const upstream = createConnection({ host: this.target.host, port: this.target.port });
    const pair: Pair = {
      forward: { from: client, to: upstream, dropped: false, releaseAt: 0 },
      backward: { from: upstream, to: client, dropped: false, releaseAt: 0 },
    };
    this.pairs.add(pair);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    for (const direction of ["forward", "backward"] as const) {
      const flow = pair[direction];
      flow.from.on("data", (chunk: Buffer) => this.carry(flow, direction, chunk));
      flow.from.on("error", () => this.destroy(pair));
      flow.from.on("close", () => this.destroy(pair));
    }
  }

  private carry(flow: Flow, direction: Direction, chunk: Buffer): void {
    const mode = this.modes[direction];
    switch (mode.kind) {
      case "pass":
        if (flow.releaseAt > performance.now()) this.later(flow, chunk, 0);
        else flow.to.write(chunk);
        return;
      case "blackhole":
        flow.dropped = true;
        return;
      case "reset":
        return;
      case "delay":
        this.later(flow, chunk, mode.ms);
        return;
      default:
        mode satisfies never;
    }
  }

  private later(flow: Flow, chunk: Buffer, ms: number): void {
    const at = Math.max(performance.now() + ms, flow.releaseAt);
    flow.releaseAt = at;
    setTimeout(() => {
      if (!flow.to.destroyed) flow.to.write(chunk);
    }, at - performance.now());
  }

  private destroy(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    const reset = this.resetting();
    for (const socket of [pair.forward.from, pair.backward.from]) {
      if (socket.destroyed) continue;
      if (reset) socket.resetAndDestroy();
      else socket.destroy();
    }
  }
}
