import { MqraftError } from "../util/errors.ts";
import type { Connection, ConnectionOptions, SocketSlot } from "./connection.ts";
import { connectNode } from "./node-socket.ts";
import { socketHandler } from "./socket-handler.ts";

export interface ConnectOptions<In> extends ConnectionOptions<In> {
  host: string;
  port: number;
}

/**
 * Opens a TCP connection: with Bun.connect on Bun, with node:net on Node. Rejects with MqraftError UNAVAILABLE if
 * nobody listens there (ECONNREFUSED) or the connection cannot be made. Set the connection's handlers right after the
 * promise resolves: no message is delivered before then, as data callbacks run in later event-loop turns.
 */
export async function connect<In, Out = unknown>(options: ConnectOptions<In>): Promise<Connection<In, Out>> {
  try {
    return typeof Bun === "undefined"
      ? await connectNode<In, Out>(options.host, options.port, options)
      : await connectBun<In, Out>(options);
  } catch (e) {
    if (e instanceof MqraftError) throw e;
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

async function connectBun<In, Out>(options: ConnectOptions<In>): Promise<Connection<In, Out>> {
  let opened: Connection<In, Out> | undefined;
  const handler = socketHandler<In, Out>(options, (connection) => {
    opened = connection;
  });
  await Bun.connect<SocketSlot>({
    hostname: options.host,
    port: options.port,
    data: { connection: undefined },
    socket: { ...handler, connectError: () => {} },
  });
  if (opened === undefined) {
    throw new MqraftError("INTERNAL", `connected to ${options.host}:${options.port} but the socket never opened`);
  }
  return opened;
}
