import { MqraftError } from "../util/errors.ts";
import { type Connection, type ConnectionOptions, type SocketSlot, sumMemory } from "./connection.ts";
import { socketHandler } from "./socket-handler.ts";
import { bunServerTls, type ServerTls } from "./tls-options.ts";

export interface ListenOptions<In, Out> extends ConnectionOptions<In> {
  host: string;
  /** 0 picks a free port; read it back from `Listener.port`. */
  port: number;
  /** Called as each connection opens, before any of its messages: set `onMessage` and `onClose` here. */
  onConnection: (connection: Connection<In, Out>) => void;
  /** TLS only on this port (docs/security.md); a connection opens once its handshake succeeded. */
  tls?: ServerTls;
  /** A TLS handshake that failed (a clear-text client, a certificate the CA did not sign). */
  onHandshakeFailed?: (error: Error) => void;
  /** A TLS handshake not ended by then is cut (TLS_HANDSHAKE_DEADLINE_MS when absent). */
  handshakeTimeoutMs?: number;
}

export interface Listener {
  readonly host: string;
  readonly port: number;
  /** Connections open now. */
  readonly connections: number;
  /** What the open connections hold in memory, summed (docs/memory.md). */
  memoryUse(): ReturnType<typeof sumMemory>;
  /** Stops accepting and closes every open connection (each sends what it has queued first). */
  stop(): void;
  /**
   * New TLS settings (a renewed certificate): the port is bound again with them, so new connections get them;
   * open connections go on with what they negotiated. Throws UNAVAILABLE if the port cannot be bound again.
   */
  reloadTls(tls: ServerTls): void;
}

/** Accepts TCP connections. Throws MqraftError UNAVAILABLE if the address cannot be bound. */
export function listen<In, Out = unknown>(options: ListenOptions<In, Out>): Listener {
  const open = new Set<Connection<In, Out>>();
  let tls = options.tls;
  const handler = socketHandler<In, Out>(
    options,
    (connection) => {
      open.add(connection);
      void connection.closed.then(() => open.delete(connection));
      options.onConnection(connection);
    },
    options.tls !== undefined,
    options.onHandshakeFailed,
    options.handshakeTimeoutMs,
    // client certificates are checked only by a listener that asks for them (bunServerTls: a CA given)
    () => tls?.ca !== undefined,
  );
  let server = bind(options.host, options.port, handler, tls);
  const port = server.port;
  return {
    host: options.host,
    port,
    get connections() {
      return open.size;
    },
    memoryUse: () => sumMemory(open),
    stop() {
      server.stop(false);
      for (const connection of open) connection.close();
    },
    reloadTls(reloaded: ServerTls) {
      // stop(false) stops accepting and leaves the open connections be
      server.stop(false);
      tls = reloaded;
      server = bind(options.host, port, handler, reloaded);
    },
  };
}

function bind(
  host: string,
  port: number,
  handler: import("bun").SocketHandler<SocketSlot>,
  tls: ServerTls | undefined,
): import("bun").TCPSocketListener<SocketSlot> {
  try {
    return Bun.listen<SocketSlot>({
      hostname: host,
      port,
      data: { connection: undefined },
      socket: handler,
      ...(tls === undefined ? {} : { tls: bunServerTls(tls) }),
    });
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    // Bun says "Failed to listen" for every cause; the errno names the one a person can act on
    const why =
      code === "EADDRINUSE"
        ? "address already in use (another process listens there)"
        : code === "EADDRNOTAVAIL"
          ? "address not available on this machine"
          : code === "EACCES"
            ? "permission denied (ports below 1024 need privileges)"
            : e instanceof Error
              ? `${e.message}${typeof code === "string" ? ` (${code})` : ""}`
              : String(e);
    throw new MqraftError("UNAVAILABLE", `cannot listen on ${host}:${port}: ${why}`, { cause: e });
  }
}
