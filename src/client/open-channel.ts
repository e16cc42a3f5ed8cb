import { splitAddress } from "../util/config-values.ts";
import { MqraftError } from "../util/errors.ts";
import { type ClientTls, connect, createMessageParser, PROTOCOL_VERSION, type Welcome } from "../wire/index.ts";
import { RefusedError } from "./client-errors.ts";
import { type ClientReceives, ClientReceivesSchema, type ClientSends } from "./client-messages.ts";
import { withDeadline } from "./deadline.ts";
import { type ClientConnection, RequestChannel } from "./request-channel.ts";

const parseClientMessage = createMessageParser(ClientReceivesSchema);

/** How this client proves who it is to every server it opens a channel to. */
export interface ChannelOptions {
  /** The user's token (docs/security.md), sent in every hello; absent when the cluster runs without auth. */
  token?: string;
  /** TLS for every connection (docs/security.md); absent, clear text. */
  tls?: ClientTls;
}

/**
 * Connects to `address` and does the handshake (hello as a client, then welcome), all before `deadline`: Bun's
 * connect has no timeout of its own, so a host that drops packets would otherwise hold the caller for minutes.
 * Rejects with UNAVAILABLE (nobody listens), TIMEOUT, CONNECTION_CLOSED or the server's refusal.
 */
export async function openChannel(
  address: string,
  deadline: number,
  options: ChannelOptions = {},
): Promise<RequestChannel> {
  const { host, port } = splitAddress(address);
  const connecting = connect<ClientReceives, ClientSends>({
    host,
    port,
    parse: parseClientMessage,
    ...(options.tls === undefined ? {} : { tls: options.tls }),
  });
  const timeout = (what: string) => () => new MqraftError("TIMEOUT", `${address} did not ${what} in time`);
  let connection: ClientConnection;
  try {
    connection = await withDeadline(connecting, deadline, timeout("accept the connection"));
  } catch (e) {
    connecting.then(
      (late) => late.close(),
      () => {},
    );
    throw e;
  }
  try {
    const welcome = await withDeadline(
      handshake(connection, address, options.token),
      deadline,
      timeout("answer hello"),
    );
    return new RequestChannel(connection, address, welcome);
  } catch (e) {
    connection.close();
    throw e;
  }
}

function handshake(connection: ClientConnection, address: string, token: string | undefined): Promise<Welcome> {
  const { promise, resolve, reject } = Promise.withResolvers<Welcome>();
  connection.onMessage = (message) => {
    // whatever follows the welcome waits for the RequestChannel, which resumes reading
    connection.pause();
    if (message.type === "welcome") resolve(message);
    else if (message.type === "error") reject(RefusedError.from(message, address));
    else reject(new MqraftError("BAD_MESSAGE", `${address} sent ${message.type} before welcome`));
  };
  connection.onClose = (reason) =>
    reject(reason ?? new MqraftError("CONNECTION_CLOSED", `${address} closed the connection during the handshake`));
  connection.send(
    token === undefined
      ? { type: "hello", version: PROTOCOL_VERSION, role: "client" }
      : { type: "hello", version: PROTOCOL_VERSION, role: "client", token },
  );
  return promise;
}
