import { decodeValue } from "../../src/wire/cbor.ts";
import { FRAME_HEADER_BYTES } from "../../src/wire/frame-format.ts";

/** Who opened a proxied connection: broker `id` (a number), or anything else (clients, managers, tools). */
export type ConnectionSource = number | "client";

/**
 * Reads who dialled from the hello that opens every mqraft connection, in the first bytes the dialler sent. Bytes
 * that hold no whole hello count as a client: brokers send theirs in one small write.
 */
export function sourceOfFirstChunk(chunk: Uint8Array): ConnectionSource {
  if (chunk.length < FRAME_HEADER_BYTES) return "client";
  const length = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength).getUint32(0);
  if (chunk.length < FRAME_HEADER_BYTES + length) return "client";
  try {
    const hello = decodeValue(chunk.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + length));
    if (typeof hello !== "object" || hello === null || !("role" in hello) || hello.role !== "peer") return "client";
    return "id" in hello && typeof hello.id === "number" ? hello.id : "client";
  } catch {
    return "client";
  }
}
