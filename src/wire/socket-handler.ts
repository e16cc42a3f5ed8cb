import type { Socket, SocketHandler } from "bun";
import { Connection, type ConnectionOptions, type SocketSlot } from "./connection.ts";

/**
 * The Bun socket callbacks shared by every connection of one listener or one `connect()`: they only forward to the
 * Connection in the socket's data slot, which `open` creates.
 */
export function socketHandler<In, Out>(
  options: ConnectionOptions<In>,
  opened: (connection: Connection<In, Out>) => void,
): SocketHandler<SocketSlot> {
  return {
    // plain Uint8Array chunks (Bun's listen/connect typings assume Buffer, a subclass, so `data` accepts both)
    binaryType: "uint8array",
    open(socket: Socket<SocketSlot>) {
      const connection = new Connection<In, Out>(socket, options);
      socket.data = { connection: connection as Connection<unknown, unknown> };
      opened(connection);
    },
    data(socket: Socket<SocketSlot>, chunk: Uint8Array) {
      socket.data.connection?.handleData(chunk);
    },
    drain(socket: Socket<SocketSlot>) {
      socket.data.connection?.handleDrain();
    },
    close(socket: Socket<SocketSlot>, error?: Error) {
      socket.data.connection?.handleClose(error);
    },
    error(socket: Socket<SocketSlot>, error: Error) {
      socket.data.connection?.handleError(error);
    },
  };
}
