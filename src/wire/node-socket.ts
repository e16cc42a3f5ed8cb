import "../util/runtime-support.ts";
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { Connection, type ConnectionOptions } from "./connection.ts";
import type { ClientTls } from "./tls-options.ts";
import type { SocketLike } from "./transport.ts";

/**
 * A node:net socket behind Bun's socket semantics (transport.ts), for the client library on Node. Node queues every
 * write and keeps a reference to the bytes until they are sent, while the outgoing queue reuses its buffers as soon
 * as a write returns: so Node is given a copy, and once it reports its buffer full (write returned false) this
 * socket takes nothing more until Node's `drain`, which is what bounds the bytes Node holds.
 */
class NodeSocket implements SocketLike {
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Node's buffer is over its high-water mark: take nothing until `drain`. */
  full = false;

  constructor(private readonly socket: Socket) {
    this.remoteAddress = socket.remoteAddress ?? "unknown";
    this.remotePort = socket.remotePort ?? 0;
  }

  write(bytes: Uint8Array): number {
    if (this.socket.destroyed || !this.socket.writable) return -1;
    if (this.full || bytes.length === 0) return 0;
    if (!this.socket.write(Buffer.from(bytes))) this.full = true;
    return bytes.length;
  }

  shutdown(): void {
    this.socket.end();
  }

  terminate(): void {
    this.socket.destroy();
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }
}

/**
 * Opens a TCP connection with node:net and wraps it in a Connection once it is open. Rejects with the socket's error
 * (ECONNREFUSED and the like) if it cannot be opened.
 */
export function connectNode<In, Out>(
  host: string,
  port: number,
  options: ConnectionOptions<In>,
  tls?: ClientTls,
): Promise<Connection<In, Out>> {
  return new Promise((resolve, reject) => {
    const socket =
      tls === undefined ? netConnect({ host, port }) : tlsConnect({ host, port, ...tls, rejectUnauthorized: true });
    socket.setNoDelay(true);
    const refused = (error: Error): void => reject(error);
    socket.once("error", refused);
    socket.once(tls === undefined ? "connect" : "secureConnect", () => {
      socket.off("error", refused);
      const wrapped = new NodeSocket(socket);
      const connection = new Connection<In, Out>(wrapped, options);
      socket.on("data", (chunk: Buffer) => connection.handleData(chunk));
      socket.on("drain", () => {
        wrapped.full = false;
        connection.handleDrain();
      });
      socket.on("error", (error) => connection.handleError(error));
      socket.on("close", () => connection.handleClose(undefined));
      resolve(connection);
    });
  });
}
