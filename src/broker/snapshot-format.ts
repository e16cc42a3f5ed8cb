import * as v from "valibot";
import { Encoder } from "../util/cbor-x.ts";
import { MqraftError } from "../util/errors.ts";
import { describeIssues } from "./command-codec.ts";

/**
 * The framing of a version 2 to 5 snapshot (docs/state-machine.md, "Snapshot"), and the checks every section's codec
 * shares: a magic number, the length of a CBOR header, the header, then the typed-array columns' bytes.
 */

export const SNAPSHOT_FORMAT = "mqraft-broker-state";
const MAGIC = 0x5342514d; // "MQBS" read as a little-endian u32
const PREFIX_SIZE = 8; // magic u32 | header length u32

export const snapshotCbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });

export function corrupt(message: string): MqraftError {
  return new MqraftError("CORRUPT", `invalid broker snapshot: ${message}`);
}

/** The prefix and the header, to write before the columns. */
export function framed(header: unknown): Uint8Array[] {
  // Copied: the encoder reuses its buffer, and a snapshot is held long after.
  const head = Uint8Array.from(snapshotCbor.encode(header));
  const prefix = new Uint8Array(PREFIX_SIZE);
  const view = new DataView(prefix.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, head.byteLength, true);
  return [prefix, head];
}

/** The header and the column bytes of a version 2 to 5 snapshot, undefined when `bytes` is not one. */
export function splitSnapshot(bytes: Uint8Array): { header: unknown; body: Uint8Array } | undefined {
  if (bytes.byteLength < PREFIX_SIZE) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC) return undefined;
  const end = PREFIX_SIZE + view.getUint32(4, true);
  if (end > bytes.byteLength) throw corrupt("its header runs past the end");
  return { header: decodeCbor(bytes.subarray(PREFIX_SIZE, end)), body: bytes.subarray(end) };
}

export function decodeCbor(bytes: Uint8Array): unknown {
  try {
    return snapshotCbor.decode(bytes);
  } catch (e) {
    throw corrupt(`not CBOR: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export function validated<S extends v.GenericSchema>(schema: S, raw: unknown): v.InferOutput<S> {
  const parsed = v.safeParse(schema, raw);
  if (!parsed.success) throw corrupt(describeIssues(parsed.issues));
  return parsed.output;
}

/** Cuts the columns from a snapshot's body one after the other: `take(count, bytesEach, what)`. */
export type ColumnReader = (count: number, width: number, what: string) => Uint8Array;

/** Copies a byte string into a new (aligned) column of `count` elements. */
export function column<T extends Float64Array | Uint32Array | Uint16Array>(
  make: (n: number) => T,
  bytes: Uint8Array,
  count: number,
  what: string,
): T {
  const out = make(count);
  if (bytes.byteLength !== count * out.BYTES_PER_ELEMENT)
    throw corrupt(`${what} has ${bytes.byteLength} bytes, expected ${count * out.BYTES_PER_ELEMENT}`);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

export const f64 = (n: number) => new Float64Array(n);
export const u32 = (n: number) => new Uint32Array(n);
export const u16 = (n: number) => new Uint16Array(n);

export function checkAscending(values: Float64Array, strictly: boolean, min: number, max: number, what: string): void {
  let previous = min;
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as number;
    if (!Number.isSafeInteger(value) || value < previous || (strictly && i > 0 && value === previous) || value > max) {
      throw corrupt(`${what} is not an ascending list of whole numbers from ${min} to ${max}`);
    }
    previous = value;
  }
}

/** Names must be unique within a section. */
export function uniqueNames(what: string): (name: string) => void {
  const seen = new Set<string>();
  return (name) => {
    if (seen.has(name)) throw corrupt(`${what} "${name}" appears twice`);
    seen.add(name);
  };
}
