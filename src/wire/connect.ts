import { MqraftError } from "../util/errors.ts";
import type { Connection, ConnectionOptions, SocketSlot } from "./connection.ts";
import { connectNode } from "./node-socket.ts";
import { socketHandler } from "./socket-handler.ts";
import { type ClientTls, dialTls, TlsHandshakeError } from "./tls-options.ts";

export interface ConnectOptions<In> extends ConnectionOptions<In> {
  host: string;
  port: number;
  /** TLS for this connection; absent, the process's (setDialTls), else clear text. */
  tls?: ClientTls;
}

/**
 * Opens a TCP connection: with Bun.connect on Bun, with node:net on Node. Rejects with MqraftError UNAVAILABLE if
 * nobody listens there (ECONNREFUSED) or the connection cannot be made. Set the connection's handlers right after the
 * promise resolves: no message is delivered before then, as data callbacks run in later event-loop turns.
 */
export async function connect<In, Out = unknown>(options: ConnectOptions<In>): Promise<Connection<In, Out>> {
  const tls = options.tls ?? dialTls();
  try {
    return typeof Bun === "undefined"
      ? await connectNode<In, Out>(options.host, options.port, options, tls)
      : await connectBun<In, Out>(options, tls);
  } catch (e) {
    if (e instanceof MqraftError) throw e;
    if (e instanceof TlsHandshakeError)
      throw new MqraftError(
        "UNAVAILABLE",
        `TLS with ${options.host}:${options.port} failed: ${e.message} (is it a TLS port, and does --tls-ca name the CA that signed its certificate?)`,
        { cause: e },
      );
    const code = (e as { code?: unknown }).code;
    const why =
      code === "ECONNREFUSED"
        ? "connection refused (nothing listens there)"
        : code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_NONAME"
          ? `the name ${options.host} does not resolve`
          : e instanceof Error
            ? e.message
            : String(e);
    throw new MqraftError("UNAVAILABLE", `cannot connect to ${options.host}:${options.port}: ${why}`, { cause: e });
  }
}

async function connectBun<In, Out>(
  options: ConnectOptions<In>,
  tls: ClientTls | undefined,
): Promise<Connection<In, Out>> {
  const opened = Promise.withResolvers<Connection<In, Out>>();
  // a failure after Bun.connect itself rejected has nobody waiting for it
  opened.promise.catch(() => {});
  const handler = socketHandler<In, Out>(
    options,
    (connection) => opened.resolve(connection),
    tls !== undefined,
    (error) => opened.reject(new TlsHandshakeError(error.message)),
  );
  await Bun.connect<SocketSlot>({
    hostname: options.host,
    port: options.port,
    data: { connection: undefined },
    socket: {
      ...handler,
      connectError: () => {},
      // closed before the connection opened: the server hung up during the TLS handshake
      close: (socket, error) => {
        if (socket.data.connection === undefined)
          opened.reject(
            new TlsHandshakeError(error?.message ?? "the server closed the connection during the handshake"),
          );
        handler.close?.(socket, error);
      },
    },
    ...(tls === undefined ? {} : { tls: { ...tls, rejectUnauthorized: true } }),
  });
  if (tls === undefined) {
    // without TLS the socket opened within Bun.connect
    const settled = await Promise.race([opened.promise, Promise.resolve(undefined)]);
    if (settled === undefined)
      throw new MqraftError("INTERNAL", `connected to ${options.host}:${options.port} but the socket never opened`);
    return settled;
  }
  return opened.promise;
}
