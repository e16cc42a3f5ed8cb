import { splitAddress } from "../util/config-values.ts";
import { MqraftError } from "../util/errors.ts";
import { ClientInboundSchema, connect, createMessageParser, PROTOCOL_VERSION } from "../wire/index.ts";
import { openNodeLink } from "./dial-handshake.ts";
import type { ClusterAuth } from "./peer-handshake.ts";
import { nodeIdentity } from "./peer-proof.ts";

const VERIFY_TIMEOUT_MS = 2_000;
const parse = createMessageParser(ClientInboundSchema);

/**
 * Resolves once the broker listening at `address` proves it is node `id` and holds the cluster secret: the leader
 * asks this before it adds a joining broker, so a broker without the secret never enters the configuration
 * (where, as a voter that cannot be reached, it would only weaken the quorum).
 */
export async function verifyNodeAt(auth: ClusterAuth, selfId: number, id: number, address: string): Promise<void> {
  const { host, port } = splitAddress(address);
  const connection = await connect({ host, port, parse });
  await new Promise<void>((resolve, reject) => {
    openNodeLink(
      connection,
      { type: "hello", version: PROTOCOL_VERSION, role: "peer", id: selfId },
      {
        auth,
        selfIdentity: nodeIdentity(selfId),
        expectedIdentity: nodeIdentity(id),
        timeoutMs: VERIFY_TIMEOUT_MS,
        ready: () => {
          connection.close();
          resolve();
        },
        refused: (error) =>
          reject(
            new MqraftError(
              "UNAUTHENTICATED",
              `node ${id} at ${address} did not prove the cluster secret (${error.code}: ${error.message}); it is not added`,
            ),
          ),
      },
    );
  });
}
