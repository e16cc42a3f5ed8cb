/**
 * One dial to a peer broker: connect (with a deadline), send the peer hello and, with a cluster secret, answer the
 * challenge. Used for both links to a peer (src/node/peer-network.ts).
 */
import { openNodeLink } from "../auth/dial-handshake.ts";
import type { ClusterAuth } from "../auth/peer-handshake.ts";
import { nodeIdentity } from "../auth/peer-proof.ts";
import type { NodeId } from "../raft/index.ts";
import { splitAddress } from "../util/config-values.ts";
import { ClientInboundSchema, type Connection, connect, createMessageParser, type Hello } from "../wire/index.ts";
import type { DialedInbound } from "./peer-messages.ts";

export const CONNECT_TIMEOUT_MS = 1000;
const parseDialed = createMessageParser(ClientInboundSchema);

export type DialedConnection = Connection<DialedInbound, unknown>;

export interface PeerDial {
  selfId: NodeId;
  peerId: NodeId;
  address: string;
  hello: Hello;
  maxFrameBytes: number;
  maxQueuedBytes: number;
  auth: ClusterAuth | undefined;
  /** Asked when the socket is up and again when the handshake is done: true closes the new connection. */
  unwanted(): boolean;
  /** The link is open; set its message handler here. */
  opened(connection: DialedConnection): void;
  /** The peer refused this broker (another cluster, other founding --peers, no secret): a lasting reason. */
  refused(connection: DialedConnection, message: string): void;
  /** Nothing came of it (refused connection, timeout, closed during the handshake): try again later. */
  failed(): void;
}

export function dialPeer(d: PeerDial): void {
  const { host, port } = splitAddress(d.address);
  const attempt = connect<DialedInbound, unknown>({
    host,
    port,
    parse: parseDialed,
    maxFrameBytes: d.maxFrameBytes,
    maxQueuedBytes: d.maxQueuedBytes,
  });
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error("connect timed out")), CONNECT_TIMEOUT_MS),
  );
  Promise.race([attempt, timeout]).then(
    (connection) => {
      if (d.unwanted()) {
        connection.close();
        d.failed();
        return;
      }
      openNodeLink(connection, d.hello, {
        auth: d.auth,
        selfIdentity: nodeIdentity(d.selfId),
        expectedIdentity: nodeIdentity(d.peerId),
        timeoutMs: CONNECT_TIMEOUT_MS,
        ready: () => {
          if (d.unwanted()) {
            connection.close();
            d.failed();
            return;
          }
          d.opened(connection);
        },
        refused: (error) => {
          if (error.code !== "CONNECTION_CLOSED") d.refused(connection, error.message);
          else d.failed();
        },
      });
    },
    () => {
      void attempt.then(
        (c) => c.close(),
        () => {},
      );
      d.failed();
    },
  );
}
