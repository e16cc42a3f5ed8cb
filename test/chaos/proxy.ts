import { createConnection, createServer, type Server, type Socket } from "node:net";
import { type ConnectionSource, sourceOfFirstChunk } from "./hello-role.ts";

/** What a link does to the bytes flowing one way through it. */
export type LinkMode =
  | { kind: "pass" }
  /** The sockets stay open, the bytes are dropped. */
  | { kind: "blackhole" }
  /** Every connection is reset, and new ones are reset as they arrive. */
  | { kind: "reset" }
  | { kind: "delay"; ms: number }
  /** The bytes flow at most this fast, in order: a slow link (a WAN, a busy NIC). */
  | { kind: "rate"; bytesPerSecond: number };

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
  /** Chunks of a rate-limited flow waiting for their turn, each with when it may leave. */
  paced: { chunk: Buffer; at: number }[];
}

interface Pair {
  forward: Flow;
  backward: Flow;
  /** Known from the first bytes the dialler sent. */
  source: ConnectionSource | undefined;
}

const DIRECTIONS: readonly Direction[] = ["forward", "backward"];
type Modes = Record<Direction, LinkMode>;

/**
 * A TCP proxy on loopback in front of one broker, whose two directions can each be switched at run time, for each
 * source apart: every other broker reaches this one through the same proxy (so all of them are started with the
 * same --peers), and the proxy tells them and clients apart by the hello that opens each connection. It lets a test
 * partition real processes without root: a blackhole keeps the socket and drops the bytes, like a cable cut that
 * TCP has not noticed yet.
 */
export class TcpProxy {
  /** Modes of sources with none of their own; `set` without a source changes these and every source's. */
  private readonly fallback: Modes = { forward: PASS, backward: PASS };
  private readonly modes = new Map<ConnectionSource, Modes>();
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

  mode(direction: Direction, source?: ConnectionSource): LinkMode {
    return this.modesOf(source)[direction];
  }

  /**
   * Sets one direction's mode ("forward": from `source` to the broker behind this proxy), or both when `direction`
   * is omitted; for the connections of one source, or of every source when `source` is omitted.
   */
  set(mode: LinkMode, direction?: Direction, source?: ConnectionSource): void {
    const targets = source === undefined ? [this.fallback, ...this.modes.values()] : [this.own(source)];
    for (const modes of targets) for (const d of direction === undefined ? DIRECTIONS : [direction]) modes[d] = mode;
    for (const pair of [...this.pairs]) {
      const modes = this.modesOf(pair.source);
      // A stream that lost bytes would hand the receiver half a frame: once healed, it must start afresh, as TCP
      // would after its retransmissions gave up.
      const broken = DIRECTIONS.some((d) => pair[d].dropped && modes[d].kind !== "blackhole");
      if (broken || this.resetting(pair.source)) this.destroy(pair);
    }
  }

  async close(): Promise<void> {
    for (const pair of [...this.pairs]) this.destroy(pair);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private own(source: ConnectionSource): Modes {
    let modes = this.modes.get(source);
    if (modes === undefined) {
      modes = { ...this.fallback };
      this.modes.set(source, modes);
    }
    return modes;
  }

  /** A connection whose source is not known yet follows the modes set for every source. */
  private modesOf(source: ConnectionSource | undefined): Modes {
    return (source === undefined ? undefined : this.modes.get(source)) ?? this.fallback;
  }

  private resetting(source: ConnectionSource | undefined): boolean {
    const modes = this.modesOf(source);
    return DIRECTIONS.some((d) => modes[d].kind === "reset");
  }

  private accept(client: Socket): void {
    // Who dials is known only from its first bytes; when every source is reset, refuse at once.
    if ([this.fallback, ...this.modes.values()].every((m) => DIRECTIONS.some((d) => m[d].kind === "reset"))) {
      client.resetAndDestroy();
      return;
    }
    const upstream = createConnection({ host: this.target.host, port: this.target.port });
    const pair: Pair = {
      forward: { from: client, to: upstream, dropped: false, releaseAt: 0, paced: [] },
      backward: { from: upstream, to: client, dropped: false, releaseAt: 0, paced: [] },
      source: undefined,
    };
    this.pairs.add(pair);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    for (const direction of ["forward", "backward"] as const) {
      const flow = pair[direction];
      flow.from.on("data", (chunk: Buffer) => this.carry(pair, direction, chunk));
      flow.from.on("error", () => this.destroy(pair));
      flow.from.on("close", () => this.destroy(pair));
    }
  }

  private carry(pair: Pair, direction: Direction, chunk: Buffer): void {
    if (pair.source === undefined && direction === "forward") {
      pair.source = sourceOfFirstChunk(chunk);
      if (this.resetting(pair.source)) {
        this.destroy(pair);
        return;
      }
    }
    const flow = pair[direction];
    const mode = this.modesOf(pair.source)[direction];
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
      case "rate":
        this.paced(flow, chunk, mode.bytesPerSecond);
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

  /**
   * The chunk leaves once the link has carried everything before it at `bytesPerSecond`. Chunks wait in the flow's
   * own queue behind one timer, so they leave in order (timers due in the same millisecond need not fire in order).
   */
  private paced(flow: Flow, chunk: Buffer, bytesPerSecond: number): void {
    const at = Math.max(performance.now(), flow.releaseAt) + (chunk.length * 1000) / bytesPerSecond;
    flow.releaseAt = at;
    flow.paced.push({ chunk, at });
    if (flow.paced.length === 1) this.release(flow);
  }

  private release(flow: Flow): void {
    const head = flow.paced[0];
    if (head === undefined) return;
    setTimeout(
      () => {
        while (flow.paced[0] !== undefined && flow.paced[0].at <= performance.now()) {
          const { chunk } = flow.paced.shift() as { chunk: Buffer };
          if (!flow.to.destroyed) flow.to.write(chunk);
        }
        this.release(flow);
      },
      Math.max(0, head.at - performance.now()),
    );
  }

  private destroy(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    const reset = this.resetting(pair.source);
    for (const socket of [pair.forward.from, pair.backward.from]) {
      if (socket.destroyed) continue;
      if (reset) socket.resetAndDestroy();
      else socket.destroy();
    }
  }
}
