import { splitAddress } from "../../src/util/config-values.ts";
import {
  type ClientInbound,
  ClientInboundSchema,
  type Connection,
  connect,
  createMessageParser,
  type StatusReply,
} from "../../src/wire/index.ts";

const parse = createMessageParser(ClientInboundSchema);

/** A raw protocol connection for tests that need to see or send exactly what is on the wire. */
export async function openClient(
  address: string,
): Promise<{ connection: Connection<ClientInbound, unknown>; received: ClientInbound[] }> {
  const { host, port } = splitAddress(address);
  const connection = await connect<ClientInbound, unknown>({ host, port, parse });
  const received: ClientInbound[] = [];
  connection.onMessage = (m) => received.push(m);
  connection.send({ type: "hello", version: 1, role: "client" });
  return { connection, received };
}

/** One broker's own view of the cluster, or undefined if it does not answer within `timeoutMs`. */
export async function probeStatus(address: string, timeoutMs = 1000): Promise<StatusReply | undefined> {
  let client: Awaited<ReturnType<typeof openClient>> | undefined;
  const opening = openClient(address);
  try {
    client = await Promise.race([opening, Bun.sleep(timeoutMs).then(() => undefined)]);
  } catch {
    return undefined;
  }
  if (client === undefined) {
    // a connection that opens after the timeout is nobody's: close it then, or its descriptor stays open for good
    opening.then(
      (late) => late.connection.close(),
      () => {},
    );
    return undefined;
  }
  const { connection, received } = client;
  try {
    connection.send({ type: "status", id: 1 });
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      const reply = received.find((m): m is StatusReply => m.type === "status");
      if (reply) return reply;
      if (!connection.isOpen) return undefined;
      await Bun.sleep(10);
    }
    return undefined;
  } finally {
    connection.close();
  }
}
