import { MqraftError } from "../util/errors.ts";
import { type Hello, PROTOCOL_VERSION } from "./messages/handshake.ts";

/**
 * The error a server answers a hello with (then closes), or undefined if it may go on. Checks the version only:
 * the token is carried so that authentication can be added here without changing the handshake.
 */
export function helloError(hello: Hello): MqraftError | undefined {
  if (hello.version === PROTOCOL_VERSION) return undefined;
  return new MqraftError(
    "UNSUPPORTED_VERSION",
    `protocol version ${hello.version} is not supported: this side speaks version ${PROTOCOL_VERSION}`,
  );
}
