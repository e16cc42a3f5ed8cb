import { MqraftError } from "../util/errors.ts";
import { type ClientInbound, type Connection, errorFromMessage, type Hello, type Proof } from "../wire/index.ts";
import { type ClusterAuth, DialerHandshake } from "./peer-handshake.ts";

type DialedConnection = Pick<Connection<ClientInbound, Hello | Proof>, "onMessage" | "send" | "close" | "closed">;

export interface DialOptions {
  /** Without it, the hello goes out plain and `ready` runs at once (no cluster secret configured). */
  auth: ClusterAuth | undefined;
  selfIdentity: string;
  /** Whom the dialer means to reach, when it knows. */
  expectedIdentity?: string;
  timeoutMs: number;
  /** Runs once the other side proved the secret; set the connection's own message handler here. */
  ready: () => void;
  /** Runs when the handshake fails (the connection is then closing): the other side's refusal or ours. */
  refused: (error: MqraftError) => void;
}

/**
 * Opens a dialed link between nodes: sends `hello`, and with a cluster secret answers the challenge (see
 * peer-handshake.ts) before anything else is sent or taken. Nothing but the challenge (or an error) is
 * accepted before `ready`.
 */
export function openNodeLink(connection: DialedConnection, hello: Hello, o: DialOptions): void {
  const { auth } = o;
  if (auth === undefined) {
    connection.send(hello);
    o.ready();
    return;
  }
  const handshake = new DialerHandshake(auth, o.selfIdentity, o.expectedIdentity);
  let done = false;
  const fail = (error: MqraftError, tell: boolean): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    connection.close(tell ? error : undefined);
    o.refused(error);
  };
  const timer = setTimeout(
    () => fail(new MqraftError("UNAUTHENTICATED", `no cluster-secret challenge within ${o.timeoutMs} ms`), true),
    o.timeoutMs,
  );
  void connection.closed.then(() => {
    if (!done) fail(new MqraftError("CONNECTION_CLOSED", "closed during the cluster-secret handshake"), false);
  });
  connection.onMessage = (m) => {
    if (done) return;
    if (m.type === "error") return fail(errorFromMessage(m), false);
    const answer = handshake.answer(m);
    if (answer instanceof MqraftError) return fail(answer, true);
    done = true;
    clearTimeout(timer);
    connection.send(answer);
    o.ready();
  };
  connection.send({ ...hello, nonce: handshake.nonce });
}
