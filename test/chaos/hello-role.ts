import { decodeValue } from "../../src/wire/cbor.ts";
import { FRAME_HEADER_BYTES } from "../../src/wire/frame-format.ts";

/** Who opened a proxied connection: another broker, or anything else (clients, managers, tools). */
export type ConnectionRole = "peer" | "client";

/**
 * Reads the role from the hello that opens every mqraft connection, in the first bytes the dialler sent. Bytes that
 * hold no whole hello count as a client: brokers send theirs in one small write.
 */
export function roleOfFirstChunk(chunk: Uint8Array): ConnectionRole {
  if (chunk.length < FRAME_HEADER_BYTES) return "client";
  const length = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength).getUint32(0);
  if (chunk.length < FRAME_HEADER_BYTES + length) return "client";
  try {
    const hello = decodeValue(chunk.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + length));
    return typeof hello === "object" && hello !== null && "role" in hello && hello.role === "peer" ? "peer" : "client";
  } catch {
    return "client";
  }
}
