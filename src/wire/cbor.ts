import { Decoder, Encoder, isNativeAccelerationEnabled } from "../util/cbor-x.ts";
import { MqraftError } from "../util/errors.ts";
import { NOT_PLAIN, readPlain } from "../util/plain-cbor-reader.ts";
import { scanCbor } from "./cbor-scan.ts";

/** Deepest nesting of arrays and maps accepted in one message: far above what any message needs, far below a stack overflow. */
export const MAX_NESTING_DEPTH = 64;

// Plain CBOR only: no record extension, byte strings untagged so any CBOR implementation can read them.
const encoder = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });
// copyBuffers: a decoded byte string is a copy, so it keeps neither the receive chunk alive nor a view into it; and as
// the source handed in is a plain Uint8Array, the copy is a plain Uint8Array too (never a Buffer).
// int64AsNumber (read by cbor-x, missing from its typings): a 64-bit integer from another implementation decodes as a
// number, which the schemas check, instead of a bigint, which they would reject.
const decoderOptions = { useRecords: false, mapsAsObjects: true, copyBuffers: true, int64AsNumber: true };
const decoder = new Decoder(decoderOptions);

/** One value to CBOR bytes. The result stays valid after later calls (cbor-x moves on in its buffer). */
export function encodeValue(value: unknown): Uint8Array {
  return encoder.encode(value);
}

/**
 * One CBOR item, exactly filling `bytes`, to a value. Throws MqraftError BAD_FRAME for anything that is not one
 * well-formed item of the plain data this protocol uses.
 */
export function decodeValue(bytes: Uint8Array): unknown {
  if (bytes.constructor !== Uint8Array) bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // plain data (a group's acks, answers) is read by hand, as cbor-x reads it (plain-cbor-reader.ts); what that reader
  // takes is one whole item of bounded depth with no tag, so scanCbor would find nothing wrong with it
  const plain = readPlain(bytes);
  if (plain !== NOT_PLAIN) return plain;
  const reason = scanCbor(bytes, MAX_NESTING_DEPTH);
  if (reason !== undefined) throw new MqraftError("BAD_FRAME", `not a CBOR value: ${reason}`);
  try {
    return decoder.decode(bytes);
  } catch (e) {
    throw new MqraftError("BAD_FRAME", `not a CBOR value: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

/** Whether cbor-x took its native path; it crashes Bun, so this must stay false (a test checks it). */
export function isCborNativeAccelerationEnabled(): boolean {
  return isNativeAccelerationEnabled;
}
