import { MqraftError } from "../util/errors.ts";
import type { Connection, ConnectionOptions, SocketSlot } from "./connection.ts";
import { socketHandler } from "./socket-handler.ts";

export interface ListenOptions<In, Out> extends ConnectionOptions<In> {
  host: string;
  /** 0 picks a free port; read it back from `Listener.port`. */
  port: number;
  /** Called as each connection opens, before any of its messages: set `onMessage` and `onClose` here. */
  onConnection: (connection: Connection<In, Out>) => void;
}

export interface Listener {
  readonly host: string;
  readonly port: number;
  /** Connections open now. */
  readonly connections: number;
  /** Stops accepting and closes every open connection (each sends what it has queued first). */
  stop(): void;
}

/** Accepts TCP connections. Throws MqraftError UNAVAILABLE if the address cannot be bound. */
export function listen<In, Out = unknown>(options: ListenOptions<In, Out>): Listener {
  const open = new Set<Connection<In, Out>>();
  const handler = socketHandler<In, Out>(options, (connection) => {
    open.add(connection);
    void connection.closed.then(() => open.delete(connection));
    options.onConnection(connection);
  });
  let server: import("bun").TCPSocketListener<SocketSlot>;
  try {
    server = Bun.listen<SocketSlot>({
      hostname: options.host,
      port: options.port,
      data: { connection: undefined },
      socket: handler,
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
    throw new MqraftError("UNAVAILABLE", `cannot listen on ${options.host}:${options.port}: ${why}`, { cause: e });
  }
  return {
    host: options.host,
    port: server.port,
    get connections() {
      return open.size;
    },
    stop() {
      server.stop(false);
      for (const connection of open) connection.close();
    },
  };
}
