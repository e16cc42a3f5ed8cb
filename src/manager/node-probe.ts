import { splitAddress } from "../util/config-values.ts";
import {
  type ClientInbound,
  ClientInboundSchema,
  type Connection,
  connect,
  createMessageParser,
  PROTOCOL_VERSION,
  type StatusReply,
} from "../wire/index.ts";

const parse = createMessageParser(ClientInboundSchema);

/**
 * Asks one broker (or manager) for its status over the client protocol; undefined when it does not answer within
 * `timeoutMs`. A broker's reply describes the cluster as it sees it, its own row exactly, and where its /metrics is.
 */
export async function probeStatus(address: string, timeoutMs: number): Promise<StatusReply | undefined> {
  const { host, port } = splitAddress(address);
  let connection: Connection<ClientInbound, unknown> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let settled = false;
  try {
    return await new Promise<StatusReply | undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
      connect<ClientInbound, unknown>({ host, port, parse }).then(
        (c) => {
          // connected after the deadline: nobody waits for it any more
          if (settled) return c.close();
          connection = c;
          c.onMessage = (m) => {
            if (m.type === "status") resolve(m);
            else if (m.type === "error") resolve(undefined);
          };
          void c.closed.then(() => resolve(undefined));
          c.send({ type: "hello", version: PROTOCOL_VERSION, role: "client" });
          c.send({ type: "status", id: 1 });
        },
        () => resolve(undefined),
      );
    });
  } finally {
    settled = true;
    clearTimeout(timer);
    connection?.close();
  }
}
