import type { Socket, SocketHandler } from "bun";
import { Connection, type ConnectionOptions, type SocketSlot } from "./connection.ts";
import { TlsHandshakeError } from "./tls-options.ts";

/**
 * A TLS socket whose handshake has not ended by then is cut (a hello deadline for the layer below the hello), unless
 * the listener sets its own (ListenOptions.handshakeTimeoutMs).
 */
export const TLS_HANDSHAKE_DEADLINE_MS = 5_000;

/**
 * The Bun socket callbacks shared by every connection of one listener or one `connect()`: they only forward to the
 * Connection in the socket's data slot, which `open` creates, or with TLS the end of a successful handshake (bytes
 * written before it would be lost). A failed handshake is reported to `failed` and the socket cut.
 *
 * `verifiesPeer` says whether the other side's certificate must check out: always for a client (the broker's), for a
 * listener only when it asks for client certificates (a CA given). Bun reports an authorization error for a client
 * that shows no certificate even to a listener that asked for none, so that error counts only where it matters.
 */
export function socketHandler<In, Out>(
  options: ConnectionOptions<In>,
  opened: (connection: Connection<In, Out>) => void,
  tls = false,
  failed: (error: Error) => void = () => {},
  handshakeTimeoutMs = TLS_HANDSHAKE_DEADLINE_MS,
  verifiesPeer: () => boolean = () => true,
): SocketHandler<SocketSlot> {
  const start = (socket: Socket<SocketSlot>): void => {
    clearTimeout(socket.data.handshakeDeadline);
    const connection = new Connection<In, Out>(socket, options);
    socket.data = { connection: connection as Connection<unknown, unknown> };
    opened(connection);
  };
  return {
    // plain Uint8Array chunks (Bun's listen/connect typings assume Buffer, a subclass, so `data` accepts both)
    binaryType: "uint8array",
    open(socket: Socket<SocketSlot>) {
      if (!tls) return start(socket);
      socket.data = {
        connection: undefined,
        handshakeDeadline: setTimeout(() => {
          failed(new Error(`no TLS handshake within ${handshakeTimeoutMs} ms`));
          socket.terminate();
        }, handshakeTimeoutMs),
      };
    },
    handshake(socket: Socket<SocketSlot>, success: boolean, authorizationError: Error | null) {
      if (!tls || socket.data.connection !== undefined) return;
      if (success && (authorizationError === null || !verifiesPeer())) return start(socket);
      clearTimeout(socket.data.handshakeDeadline);
      failed(authorizationError ?? new Error("the TLS handshake failed"));
      socket.terminate();
    },
    data(socket: Socket<SocketSlot>, chunk: Uint8Array) {
      socket.data.connection?.handleData(chunk);
    },
    drain(socket: Socket<SocketSlot>) {
      socket.data.connection?.handleDrain();
    },
    close(socket: Socket<SocketSlot>, error?: Error) {
      clearTimeout(socket.data.handshakeDeadline);
      socket.data.connection?.handleClose(tls ? tlsError(error) : error);
    },
    error(socket: Socket<SocketSlot>, error: Error) {
      socket.data.connection?.handleError(tls ? (tlsError(error) as Error) : error);
    },
  };
}

/**
 * TLS alerts and OpenSSL's errors (a certificate the other side requires or refuses, a record that fails its check)
 * as TlsHandshakeError, so that a client knows no other broker or later attempt will do better.
 */
function tlsError(error: Error | undefined): Error | undefined {
  if (error === undefined || !/SSL routines|TLSV1_ALERT|certificate/i.test(error.message)) return error;
  return new TlsHandshakeError(error.message);
}
